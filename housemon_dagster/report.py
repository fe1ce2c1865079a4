"""A plain-text report of the local platform's tables, windows and alert state.

Run ``python -m housemon_dagster.report`` (or ``housemon report``) after a job.
"""

from __future__ import annotations

import sys

from housemon_dagster.core.windows import quality_by_window
from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.settings import Settings, load_settings

TABLES = (
    "train_set",
    "test_set",
    "inference_set_normal",
    "inference_set_skewed",
    "house_features",
    "house-prices-model-serving-fe_payload",
    "model_monitoring",
    "model_monitoring_quarantine",
    "model_monitoring_profile_metrics",
    "model_monitoring_drift_metrics",
    "alert_evaluations",
)


def _fmt(value: object, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if digits or value >= 1 else f"{value:.2g}"
    return str(value)


def build_report(settings: Settings) -> str:
    """Return the report text; tables that do not exist yet are listed as missing."""
    store = DeltaTableStore(settings.warehouse)
    lines = [f"housemon state: {settings.home}", "", "Tables (Delta, under warehouse/):"]
    for name in TABLES:
        full = settings.table(name)
        if store.exists(full):
            rows = store.table(full).count()
            lines.append(f"  {full:<62} {rows:>8} rows  v{store.version(full)}  {store.path(full)}")
        else:
            lines.append(f"  {full:<62}  missing")
    profile = settings.table("model_monitoring_profile_metrics")
    drift = settings.table("model_monitoring_drift_metrics")
    if store.exists(profile):
        lines += ["", "Windows (INPUT, whole table; KS p-values against the training baseline):"]
        lines.append(
            f"  {'window start (UTC)':<26} {'rows':>6} {'labelled':>8} {'MAE':>10} "
            f"{'p OverallQual':>14} {'p GrLivArea':>12} {'flagged':>8}"
        )
        for window in quality_by_window(store, profile, drift):
            lines.append(
                f"  {window['window_start'][:19]:<26} {window['rows']:>6} "
                f"{_fmt(window['labelled']):>8} {_fmt(window['mae']):>10} "
                f"{_fmt(window['ks_p_OverallQual']):>14} {_fmt(window['ks_p_GrLivArea']):>12} "
                f"{window['flagged_features']:>8}"
            )
    evaluations = settings.table("alert_evaluations")
    if store.exists(evaluations):
        last = store.read_pandas(evaluations).sort_values("evaluated_at").iloc[-1]
        lines += [
            "",
            f"Alert {last['alert_name']!r}: {last['state']} at {last['evaluated_at']:%Y-%m-%d %H:%M:%S} UTC",
            f"  {last['message']}",
        ]
    else:
        lines += ["", "Alert: not evaluated yet"]
    return "\n".join(lines)


def main() -> int:
    print(build_report(load_settings()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
