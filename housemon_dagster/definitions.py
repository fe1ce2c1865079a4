"""The code location: assets, jobs and sensors, with the resources of the chosen platform.

``HOUSEMON_PLATFORM`` picks the platform: ``local`` (default) or ``databricks``.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from housemon_dagster.assets import alerting, data, model, monitoring, traffic
from housemon_dagster.jobs import ALL_JOBS
from housemon_dagster.resources.policy import MonitoringPolicy
from housemon_dagster.sensors import build_sensors, serving_payloads
from housemon_dagster.settings import (
    Settings,
    load_monitoring_settings,
    load_settings,
    traffic_phase_seconds,
)


def platform_resources(settings: Settings) -> dict[str, Any]:
    if settings.platform == "databricks":
        from housemon_dagster.databricks.platform import databricks_resources

        return databricks_resources(settings)
    from housemon_dagster.local.platform import local_resources

    return local_resources(settings)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    policy_settings = load_monitoring_settings(settings.platform)
    traffic_phase_seconds()
    policy = MonitoringPolicy(
        granularities=list(policy_settings.granularities),
        mae_threshold=policy_settings.mae_threshold,
        lookback_windows=policy_settings.lookback_windows,
        alert_percent=policy_settings.alert_percent,
        assets_dir=str(settings.home / "monitoring")
        if settings.platform == "local"
        else "/Workspace/Shared/housemon/monitoring",
    )
    assets = dg.load_assets_from_modules([data, model, traffic, monitoring, alerting])
    return dg.Definitions(
        assets=[*assets, serving_payloads],
        jobs=ALL_JOBS,
        sensors=build_sensors(),
        resources={**platform_resources(settings), "policy": policy},
    )


defs = build_definitions()
