"""Settings read from the environment, shared by every platform.

Every variable has a default, so a plain checkout runs on the local platform with
state under ``./.housemon``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PLATFORMS = ("local", "databricks")

MODEL_NAME = "house_prices_model_fe"
MODEL_ALIAS = "latest-model"
ENDPOINT_NAME = "house-prices-model-serving-fe"


class SettingsError(ValueError):
    """Raised when an environment variable contains a value housemon cannot use."""


@dataclass(frozen=True)
class Settings:
    platform: str = "local"
    home: Path = field(default_factory=lambda: Path(".housemon").resolve())
    catalog: str = "mlops_dev"
    schema: str = "house_prices"
    source_csv: Path | None = None

    def table(self, name: str) -> str:
        """Return the three-part Unity Catalog name of table ``name``."""
        return f"{self.catalog}.{self.schema}.{name}"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    @property
    def model_full_name(self) -> str:
        return self.table(MODEL_NAME)

    @property
    def inference_table(self) -> str:
        return self.table(f"{ENDPOINT_NAME}_payload")


def _identifier(variable: str, default: str) -> str:
    value = os.environ.get(variable, default).strip()
    if not value or not value.replace("_", "").isalnum():
        raise SettingsError(
            f"{variable}={value!r} is not a valid catalog or schema name; "
            "use letters, digits and underscores only"
        )
    return value


def traffic_phase_seconds() -> float:
    """Return ``HOUSEMON_TRAFFIC_PHASE_SECONDS`` (default 130), checked."""
    return _number("HOUSEMON_TRAFFIC_PHASE_SECONDS", 130.0, minimum=1.0)


def load_settings() -> Settings:
    """Read ``HOUSEMON_*`` variables and check them, naming the variable at fault."""
    platform = os.environ.get("HOUSEMON_PLATFORM", "local").strip().lower()
    if platform not in PLATFORMS:
        raise SettingsError(
            f"HOUSEMON_PLATFORM={platform!r} is not supported; set it to one of {PLATFORMS}"
        )
    source = os.environ.get("HOUSEMON_SOURCE_CSV", "").strip()
    return Settings(
        platform=platform,
        home=Path(os.environ.get("HOUSEMON_HOME", ".housemon")).expanduser().resolve(),
        catalog=_identifier("HOUSEMON_CATALOG", "mlops_dev"),
        schema=_identifier("HOUSEMON_SCHEMA", "house_prices"),
        source_csv=Path(source).expanduser().resolve() if source else None,
    )


DEFAULT_GRANULARITIES = {"local": ("1 minute",), "databricks": ("30 minutes",)}


@dataclass(frozen=True)
class MonitoringSettings:
    """Monitor and alert settings; each can be set with an environment variable."""

    granularities: tuple[str, ...]
    mae_threshold: float
    lookback_windows: int
    alert_percent: float


def _number(variable: str, default: float, *, minimum: float) -> float:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError as error:
        raise SettingsError(f"{variable}={text!r} is not a number") from error
    if value < minimum:
        raise SettingsError(f"{variable}={value:g} must be at least {minimum:g}")
    return value


def load_monitoring_settings(platform: str) -> MonitoringSettings:
    from housemon_dagster.monitor.windows import parse_granularity

    text = os.environ.get("HOUSEMON_MONITOR_GRANULARITIES", "").strip()
    granularities = (
        tuple(g.strip() for g in text.split(",") if g.strip())
        if text
        else DEFAULT_GRANULARITIES[platform]
    )
    for granularity in granularities:
        try:
            parse_granularity(granularity)
        except ValueError as error:
            raise SettingsError(f"HOUSEMON_MONITOR_GRANULARITIES: {error}") from error
    return MonitoringSettings(
        granularities=granularities,
        mae_threshold=_number("HOUSEMON_ALERT_MAE_THRESHOLD", 70000.0, minimum=0),
        lookback_windows=int(_number("HOUSEMON_ALERT_LOOKBACK_WINDOWS", 3, minimum=1)),
        alert_percent=_number("HOUSEMON_ALERT_PERCENT", 45.0, minimum=0),
    )
