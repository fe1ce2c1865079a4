"""Refresh a monitor: full, or incremental from the table's Change Data Feed.

An incremental refresh reads the Change Data Feed rows committed since the last
processed table version, including the pre-images of updates, so a label that
arrives later as an update touches the window of the updated row. It recomputes
the profile of every touched window and the drift of every touched window and of
the window after it, reading only those windows and their neighbours. The result
equals a full refresh except for ``logging_table_commit_version``, which keeps
the table version that each window was last computed from.

A full refresh runs instead in these cases: when asked, on the first refresh, after
a configuration change (a new ``monitor_version``), and when the top slice values
change. It also runs when an output table is missing, when a commit since the last
refresh overwrote or restored the table, and always for Snapshot monitors.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from housemon_dagster.core.tables import TableNotFoundError, TableStore
from housemon_dagster.monitor.compute import build_side, collect_rows
from housemon_dagster.monitor.config import MonitorConfig, MonitorInfo, MonitorState
from housemon_dagster.monitor.frame import (
    TableReader,
    evaluate_expression,
    referenced_columns,
    top_values,
)
from housemon_dagster.monitor.output import Stamp, WindowSelection, build_tables
from housemon_dagster.monitor.registry import MonitorNotFoundError, get_monitor, save_monitor
from housemon_dagster.monitor.windows import (
    parse_granularity,
    shift_window,
    to_utc_micros,
    window_end,
    window_start,
)

log = logging.getLogger(__name__)

INCREMENTAL_OPERATIONS = {"WRITE", "MERGE", "UPDATE", "DELETE", "OPTIMIZE"}


@dataclass
class RefreshResult:
    """The outcome of one refresh; ``state`` is SUCCESS or FAILED."""

    table_name: str
    profile_table: str
    drift_table: str
    state: str
    full: bool
    monitor_version: int
    table_version: int | None
    windows_recomputed: int
    profile_rows_written: int
    drift_rows_written: int
    elapsed_seconds: float
    message: str = ""

    @property
    def rows_written(self) -> int:
        return self.profile_rows_written + self.drift_rows_written


@dataclass
class _Plan:
    full: bool
    profile_windows: WindowSelection
    drift_windows: WindowSelection
    intervals: list[tuple[int, int]] | None

    @property
    def windows(self) -> int:
        if self.profile_windows is None:
            return -1
        return sum(len(starts) for starts in self.profile_windows.values())


def slice_vocabularies(store: TableStore, config: MonitorConfig) -> dict[str, list[str | None]]:
    """Return the top slice values of each slicing expression over the whole table."""
    if not config.slicing_exprs:
        return {}
    reader = TableReader(store, config.table_name)
    vocabularies = {}
    for expression in config.slicing_exprs:
        inputs = reader.read(referenced_columns(expression, reader.schema))
        vocabularies[expression] = top_values(evaluate_expression(expression, inputs))
    return vocabularies


def _rewrites_table(store: TableStore, name: str, since: int) -> bool:
    """Return whether a commit after ``since`` did more than append, merge, update or delete."""
    if not hasattr(store, "table"):
        return False
    for commit in store.table(name).history():
        if commit.get("version", -1) <= since:
            continue
        operation = str(commit.get("operation", "")).upper()
        mode = str(commit.get("operationParameters", {}).get("mode", "")).lower()
        if operation not in INCREMENTAL_OPERATIONS or mode == "overwrite":
            return True
    return False


def _touched_plan(config: MonitorConfig, micros: np.ndarray) -> _Plan:
    profile: dict[str, set[int]] = {}
    drift: dict[str, set[int]] = {}
    intervals: list[tuple[int, int]] = []
    for text in config.granularities:
        granularity = parse_granularity(text)
        touched = np.unique(window_start(micros, granularity))
        following = shift_window(touched, granularity, 1)
        previous = shift_window(touched, granularity, -1)
        profile[text] = set(touched.tolist())
        drift[text] = profile[text] | set(following.tolist())
        loaded = np.unique(np.concatenate([previous, touched, following]))
        ends = window_end(loaded, granularity)
        intervals.extend(zip(loaded.tolist(), ends.tolist()))
    return _Plan(False, profile, drift, _merge_intervals(intervals))


def _merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _plan(
    store: TableStore, info: MonitorInfo, vocabularies: dict[str, Any], full: bool, version: int
) -> _Plan | None:
    """Decide what to recompute; None means nothing changed since the last refresh."""
    config, state = info.config, info.state
    full_plan = _Plan(True, None, None, None)
    if full or state is None or config.profile_type == "Snapshot":
        return full_plan
    if state.monitor_version != info.monitor_version or state.slice_values != vocabularies:
        return full_plan
    if not (store.exists(config.profile_table) and store.exists(config.drift_table)):
        return full_plan
    if version == state.table_version:
        return None
    if _rewrites_table(store, config.table_name, state.table_version):
        return full_plan
    changes = store.changes_since(config.table_name, state.table_version)
    micros, nulls = to_utc_micros(changes.column(config.timestamp_col))
    return _touched_plan(config, micros[~nulls])


def _merge_output(
    store: TableStore, name: str, new: pa.Table, selection: WindowSelection, baseline: bool
) -> pa.Table:
    """Replace the selected windows' rows of an output table with ``new``."""
    old = store.read_arrow(name)
    starts = pc.struct_field(old.column("window"), "start").cast(pa.int64())
    keep = np.ones(old.num_rows, dtype=bool)
    granularity = old.column("granularity").to_pylist()
    start_values = starts.to_pylist()
    for position, (text, start) in enumerate(zip(granularity, start_values)):
        if start is None:
            keep[position] = not baseline
        elif start in (selection or {}).get(text, set()):
            keep[position] = False
    return pa.concat_tables([old.filter(pa.array(keep)), new.cast(old.schema)])


def refresh_monitor(
    store: TableStore, table_name: str, *, full: bool = False, log: Any = None
) -> RefreshResult:
    """Recompute the monitor's metric tables; return counts, timings and the state.

    Raises ``MonitorNotFoundError`` or ``TableNotFoundError`` when the monitor or the
    table is missing. Any other error is logged and returned as a FAILED result.
    """
    progress = log or logging.getLogger(__name__)
    started = time.perf_counter()
    info = get_monitor(store, table_name)
    if info is None:
        raise MonitorNotFoundError(table_name)
    if not store.exists(table_name):
        raise TableNotFoundError(table_name, hint="write the table before refreshing its monitor")
    config = info.config
    try:
        return _refresh(store, info, full=full, progress=progress, started=started)
    except Exception as error:  # noqa: BLE001 - a refresh reports failure as a state.
        progress.exception("Refresh of the monitor of %s failed", table_name)
        return RefreshResult(
            table_name,
            config.profile_table,
            config.drift_table,
            "FAILED",
            full,
            info.monitor_version,
            None,
            0,
            0,
            0,
            time.perf_counter() - started,
            str(error),
        )


def _refresh(
    store: TableStore, info: MonitorInfo, *, full: bool, progress: Any, started: float
) -> RefreshResult:
    config = info.config
    version = store.version(config.table_name)
    vocabularies = slice_vocabularies(store, config)
    plan = _plan(store, info, vocabularies, full, version)

    def result(windows: int, profile_rows: int, drift_rows: int, is_full: bool) -> RefreshResult:
        return RefreshResult(
            config.table_name,
            config.profile_table,
            config.drift_table,
            "SUCCESS",
            is_full,
            info.monitor_version,
            version,
            windows,
            profile_rows,
            drift_rows,
            time.perf_counter() - started,
        )

    if plan is None:
        progress.info("Monitor of %s is up to date at table version %s", config.table_name, version)
        return result(0, 0, 0, False)
    progress.info(
        "Refreshing the monitor of %s at table version %s (%s)",
        config.table_name,
        version,
        "full" if plan.full else "incremental",
    )
    profile, drift, windows = _compute(store, config, info, vocabularies, plan, version, progress)
    if plan.full and config.profile_type != "Snapshot":
        store.write(config.profile_table, profile, mode="overwrite")
        store.write(config.drift_table, drift, mode="overwrite")
    elif plan.full:
        store.write(config.profile_table, profile, mode="append")
        store.write(config.drift_table, drift, mode="append")
    else:
        merged = _merge_output(store, config.profile_table, profile, plan.profile_windows, True)
        store.write(config.profile_table, merged, mode="overwrite")
        merged = _merge_output(store, config.drift_table, drift, plan.drift_windows, True)
        store.write(config.drift_table, merged, mode="overwrite")
    info.state = MonitorState(info.monitor_version, version, vocabularies)
    save_monitor(store, info)
    progress.info(
        "Wrote %d profile and %d drift rows for %s",
        profile.num_rows,
        drift.num_rows,
        config.table_name,
    )
    return result(windows, profile.num_rows, drift.num_rows, plan.full)


def _compute(
    store: TableStore,
    config: MonitorConfig,
    info: MonitorInfo,
    vocabularies: dict[str, list[str | None]],
    plan: _Plan,
    version: int | None,
    progress: Any,
) -> tuple[pa.Table, pa.Table, int]:
    reader = TableReader(
        store, config.table_name, timestamp_col=config.timestamp_col, intervals=plan.intervals
    )
    snapshot = time.time_ns() // 1000 if config.profile_type == "Snapshot" else None
    current = build_side(reader, config, vocabularies, baseline=False, snapshot_start=snapshot)
    baseline = None
    if config.baseline_table:
        base_reader = TableReader(store, config.baseline_table)
        baseline = build_side(base_reader, config, vocabularies, baseline=True)
    rows = collect_rows(current, baseline, config, progress)
    profile, drift = build_tables(
        rows,
        config=config,
        current=current,
        baseline=baseline,
        stamp=Stamp(info.monitor_version, version),
        profile_selection=plan.profile_windows,
        drift_selection=plan.drift_windows,
    )
    windows = plan.windows
    if windows < 0:
        windows = sum(len(g.window_starts) for g in current.groupings if g.slice_key is None)
    return profile, drift, windows
