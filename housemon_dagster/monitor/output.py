"""Turn computed rows into the profile and drift metric tables.

Computed rows name their group by hidden keys (``_g`` for the grouping, ``_code``
for the group). This module resolves those keys into the window, slice and model
id columns, adds custom metrics, keeps only the requested windows, and builds Arrow
tables with the exact output schemas.

BASELINE profile rows have a null ``window`` and are repeated once per
granularity, so a query filtered on ``granularity`` finds them. BASELINE drift rows
have a null ``window_cmp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from housemon_dagster.monitor import custom
from housemon_dagster.monitor.compute import MetricRows, Side
from housemon_dagster.monitor.config import TABLE_COLUMN, MonitorConfig
from housemon_dagster.monitor.frame import Grouping
from housemon_dagster.monitor.schema import drift_schema, profile_schema, rows_to_table
from housemon_dagster.monitor.windows import parse_granularity, window_end

# Per granularity, the window starts (UTC microseconds) to write; None writes all.
WindowSelection = dict[str, set[int]] | None


@dataclass(frozen=True)
class Stamp:
    """Values written on every row of one refresh."""

    monitor_version: int
    table_version: int | None


def _window(grouping: Grouping, window: int) -> dict[str, int] | None:
    start = int(grouping.window_starts[window])
    if grouping.granularity is None:
        return None if start < 0 else {"start": start, "end": start}
    end = window_end(np.array([start]), parse_granularity(grouping.granularity))
    return {"start": start, "end": int(end[0])}


def _group_fields(grouping: Grouping, code: int, config: MonitorConfig) -> dict[str, Any]:
    window, slice_index, model = grouping.key(code)
    fields: dict[str, Any] = {
        "window": _window(grouping, window),
        "granularity": grouping.granularity,
        "slice_key": grouping.slice_key,
        "slice_value": grouping.slice_values[slice_index],
    }
    if config.model_id_col:
        fields[config.model_id_col] = grouping.model_values[model]
    return fields


def _selected(row: dict[str, Any], selection: WindowSelection) -> bool:
    if selection is None or row["window"] is None:
        return True
    return row["window"]["start"] in selection.get(row["granularity"], set())


def _side_of(row: dict[str, Any], current: Side, baseline: Side | None) -> Side:
    if row.get("log_type") == "BASELINE" and baseline is not None:
        return baseline
    return current


def _add_custom_aggregates(
    rows: list[dict[str, Any]], config: MonitorConfig, current: Side, baseline: Side | None
) -> None:
    metrics = [metric for metric in config.custom_metrics if metric.type == "aggregate"]
    if not metrics:
        return
    values = {"INPUT": custom.aggregate_values(metrics, current.reader, current.groupings)}
    if baseline is not None:
        values["BASELINE"] = custom.aggregate_values(
            metrics, baseline.reader, baseline.groupings, skip_failures=True
        )
    for row in rows:
        found = values.get(row["log_type"], {}).get((row["_g"], row["_code"], row["column_name"]))
        if found:
            row.update(found)


def _row_key(log_type: str, grouping: int, code: int, column: str) -> tuple[str, int, int, str]:
    return log_type, grouping, code, column


def _add_custom_drift(
    drift_rows: list[dict[str, Any]],
    profile_rows: list[dict[str, Any]],
    config: MonitorConfig,
    baseline: Side | None,
    names: list[str],
) -> None:
    metrics = [metric for metric in config.custom_metrics if metric.type == "drift"]
    if not metrics:
        return
    index = {
        _row_key(row["log_type"], row["_g"], row["_code"], row["column_name"]): row
        for row in profile_rows
    }
    current_rows, base_rows = [], []
    for row in drift_rows:
        column = row["column_name"]
        current_rows.append(index.get(_row_key("INPUT", row["_g"], row["_code"], column)))
        if row["drift_type"] == "CONSECUTIVE":
            key = _row_key("INPUT", row["_g"], row["_comparison_code"], column)
        else:
            base_grouping = row["_g"] % len(baseline.groupings) if baseline else 0
            key = _row_key("BASELINE", base_grouping, row["_comparison_code"], column)
        base_rows.append(index.get(key))
    custom.apply_drift(metrics, drift_rows, current_rows, base_rows, names)


def build_tables(
    rows: MetricRows,
    *,
    config: MonitorConfig,
    current: Side,
    baseline: Side | None,
    stamp: Stamp,
    profile_selection: WindowSelection,
    drift_selection: WindowSelection,
) -> tuple[pa.Table, pa.Table]:
    """Return the (profile, drift) tables for the selected windows."""
    _add_custom_aggregates(rows.profile, config, current, baseline)
    aggregate_names = [m.name for m in config.custom_metrics if m.type == "aggregate"]
    names = list(custom.SCALAR_METRICS) + aggregate_names
    derived = [metric for metric in config.custom_metrics if metric.type == "derived"]
    custom.apply_derived(derived, rows.profile, names)
    names = names + [metric.name for metric in derived]
    _add_custom_drift(rows.drift, rows.profile, config, baseline, names)

    granularities = [g.granularity for g in current.groupings if g.slice_key is None]
    profile = []
    for row in rows.profile:
        side = _side_of(row, current, baseline)
        fields = _group_fields(side.groupings[row["_g"]], row["_code"], config)
        base = {**row, **fields, "monitor_version": stamp.monitor_version}
        base["logging_table_commit_version"] = stamp.table_version
        if side is current:
            if _selected(base, profile_selection):
                profile.append(base)
            continue
        for granularity in granularities:
            profile.append({**base, "granularity": granularity})

    drift = []
    for row in rows.drift:
        grouping = current.groupings[row["_g"]]
        fields = _group_fields(grouping, row["_code"], config)
        out = {**row, **fields, "monitor_version": stamp.monitor_version}
        if row["drift_type"] == "CONSECUTIVE":
            out["window_cmp"] = _window(grouping, grouping.key(row["_comparison_code"])[0])
        if _selected(out, drift_selection):
            drift.append(out)

    profile.sort(key=lambda row: _sort_key(row, config.model_id_col))
    drift.sort(key=lambda row: _sort_key(row, config.model_id_col))
    return (
        rows_to_table(profile, profile_schema(config)),
        rows_to_table(drift, drift_schema(config)),
    )


def _sort_key(row: dict[str, Any], model_id_col: str | None) -> tuple[Any, ...]:
    window = row["window"]["start"] if row.get("window") else -(2**62)
    model = row.get(model_id_col) if model_id_col else None
    return (
        row.get("granularity") or "",
        window,
        row.get("slice_key") or "",
        row.get("slice_value") or "",
        model or "",
        row.get("log_type") or "",
        row.get("drift_type") or "",
        row["column_name"] != TABLE_COLUMN,
        row["column_name"],
    )
