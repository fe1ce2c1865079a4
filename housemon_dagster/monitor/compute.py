"""One pass over the monitored table: profile and drift rows for every grouping.

Columns are read one at a time. Each column is sorted once, summarised for every
grouping (and for the baseline), turned into profile and drift rows, and then
dropped, so peak memory stays near a few columns of the table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from housemon_dagster.monitor import drift
from housemon_dagster.monitor.config import MonitorConfig
from housemon_dagster.monitor.frame import Grouping, TableReader, make_groupings, read_row_keys
from housemon_dagster.monitor.profile import (
    TABLE,
    ColumnMetrics,
    categorical_metrics,
    column_rows,
    numeric_metrics,
    regression_metrics,
)
from housemon_dagster.monitor.schema import spark_type_name
from housemon_dagster.monitor.summaries import (
    ColumnValues,
    count_rows,
    summarize_categorical,
    summarize_numeric,
)
from housemon_dagster.monitor.windows import parse_granularity, shift_window, to_utc_micros

log = logging.getLogger(__name__)


@dataclass
class Side:
    """The groupings of one table (the input or the baseline) and their per-column metrics."""

    reader: TableReader
    groupings: list[Grouping]
    columns: list[list[ColumnMetrics]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.columns = [[] for _ in self.groupings]


@dataclass
class MetricRows:
    """Profile and drift rows with hidden keys (``_g``, ``_code``) for later steps."""

    profile: list[dict[str, Any]] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)


def column_kind(kind: pa.DataType) -> str | None:
    """Classify an Arrow type as numeric, categorical or timestamp; None skips the column."""
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "timestamp"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "numeric"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind):
        return "categorical"
    return None


def build_side(
    reader: TableReader,
    config: MonitorConfig,
    slice_vocabularies: dict[str, list[str | None]],
    *,
    baseline: bool,
    snapshot_start: int | None = None,
) -> Side:
    """Read the key columns of a table and build its groupings."""
    keys = read_row_keys(
        reader,
        timestamp_col=None if baseline else config.timestamp_col,
        model_id_col=config.model_id_col,
        slice_vocabularies=slice_vocabularies,
    )
    granularities = () if baseline or config.profile_type == "Snapshot" else config.granularities
    groupings = make_groupings(
        keys,
        granularities=granularities,
        slice_vocabularies=slice_vocabularies,
        snapshot_start=snapshot_start,
    )
    return Side(reader, groupings)


def _numeric_values(column: pa.ChunkedArray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "timestamp":
        micros, nulls = to_utc_micros(column)
        return micros / 1e6, nulls
    nulls = np.asarray(pc.is_null(column), dtype=bool)
    values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    return np.where(nulls, np.nan, values), nulls


def summarise_column(name: str, current: Side, baseline: Side | None) -> None:
    """Summarise one column for every grouping of both sides, appending its metrics."""
    column = current.reader.column(name)
    kind = column_kind(column.type)
    data_type = spark_type_name(column.type)
    other = None
    if baseline is not None and name in baseline.reader.schema.names:
        other = baseline.reader.column(name)
        if column_kind(other.type) != kind:
            log.warning("Skipped baseline column %s: type %s differs", name, other.type)
            other = None
    sides = [(current, column)] + ([(baseline, other)] if other is not None else [])
    if kind == "categorical":
        _summarise_categorical(name, data_type, sides)
        return
    for side, values in sides:
        floats, nulls = _numeric_values(values, kind)
        prepared = ColumnValues.build(floats, nulls)
        del floats
        for index, grouping in enumerate(side.groupings):
            summary = summarize_numeric(prepared, grouping.grouped_rows())
            side.columns[index].append(numeric_metrics(name, kind, data_type, summary))


def _summarise_categorical(
    name: str, data_type: str, sides: list[tuple[Side, pa.ChunkedArray]]
) -> None:
    texts = [pc.cast(values, pa.string()) for _, values in sides]
    encoded = (
        pa.chunked_array([chunk for text in texts for chunk in text.chunks], type=pa.string())
        .combine_chunks()
        .dictionary_encode()
    )
    # Sorting the dictionary makes category order, and so every floating-point sum over
    # categories, independent of which rows were read: incremental equals full.
    order = np.asarray(pc.sort_indices(encoded.dictionary), dtype=np.int64)
    rank = np.empty(order.size + 1, dtype=np.int64)
    rank[order] = np.arange(order.size)
    rank[-1] = -1
    raw = np.asarray(pc.fill_null(pc.cast(encoded.indices, pa.int64()), -1), dtype=np.int64)
    indices = rank[raw]
    dictionary = encoded.dictionary.take(pa.array(order)).to_pylist()
    offset = 0
    for (side, _), text in zip(sides, texts):
        side_indices = indices[offset : offset + len(text)]
        offset += len(text)
        for index, grouping in enumerate(side.groupings):
            summary = summarize_categorical(
                side_indices, len(dictionary), grouping.codes, grouping.groups
            )
            side.columns[index].append(categorical_metrics(name, data_type, summary, dictionary))


def profiled_columns(reader: TableReader) -> list[str]:
    """Return the columns that get profile rows, in table order."""
    return [field.name for field in reader.schema if column_kind(field.type) is not None]


def collect_rows(
    current: Side, baseline: Side | None, config: MonitorConfig, log_progress: Any
) -> MetricRows:
    """Summarise every column and return profile and drift rows for all groups."""
    output = MetricRows()
    names = profiled_columns(current.reader)
    for position, name in enumerate(names, start=1):
        summarise_column(name, current, baseline)
        _drain(current, baseline, config, output)
        log_progress.info("Profiled column %s (%d of %d)", name, position, len(names))
    quality = _quality_metrics(current, config)
    for index, grouping in enumerate(current.groupings):
        output.profile.extend(_table_rows(index, grouping, current, quality[index], "INPUT"))
    if baseline is not None:
        for index, grouping in enumerate(baseline.groupings):
            output.profile.extend(_table_rows(index, grouping, baseline, None, "BASELINE"))
    output.drift.extend(_table_drift_rows(current, baseline))
    return output


def _drain(current: Side, baseline: Side | None, config: MonitorConfig, output: MetricRows) -> None:
    """Turn the newest column's metrics into rows, then free its sorted values."""
    for index, grouping in enumerate(current.groupings):
        metrics = current.columns[index][-1]
        codes = np.flatnonzero(metrics.values["count"] > 0).tolist()
        output.profile.extend(_tag(column_rows(metrics, codes), index, "INPUT"))
        for pair in _pairs(grouping, codes, metrics.values["count"], baseline, index):
            comparison = metrics if pair.drift_type == "CONSECUTIVE" else None
            if comparison is None:
                comparison = _baseline_metrics(baseline, index, metrics.name)
            if comparison is None or comparison.values["count"][pair.comparison_code] == 0:
                continue
            row = drift.compare_column(metrics, comparison, pair)
            output.drift.append({**row, "_g": index})
    if baseline is not None:
        for index, _grouping in enumerate(baseline.groupings):
            metrics = baseline.columns[index][-1] if baseline.columns[index] else None
            if metrics is None or metrics.name != current.columns[0][-1].name:
                continue
            codes = np.flatnonzero(metrics.values["count"] > 0).tolist()
            output.profile.extend(_tag(column_rows(metrics, codes), index, "BASELINE"))
    for side in (current, baseline):
        if side is not None:
            for metrics_list in side.columns:
                if metrics_list:
                    metrics_list[-1].summary = None


def _tag(rows: list[dict[str, Any]], grouping: int, log_type: str) -> list[dict[str, Any]]:
    for row in rows:
        row["_g"] = grouping
        row["log_type"] = log_type
    return rows


def _baseline_metrics(baseline: Side | None, index: int, name: str) -> ColumnMetrics | None:
    if baseline is None:
        return None
    slice_grouping = _baseline_index(baseline, index)
    for metrics in baseline.columns[slice_grouping]:
        if metrics.name == name and metrics.summary is not None:
            return metrics
    return None


def _baseline_index(baseline: Side, input_index: int) -> int:
    """Return the baseline grouping with the same slicing expression as an input grouping."""
    return input_index % len(baseline.groupings)


def _pairs(
    grouping: Grouping,
    codes: list[int],
    rows: np.ndarray,
    baseline: Side | None,
    index: int,
) -> list[drift.Comparison]:
    pairs: list[drift.Comparison] = []
    if grouping.granularity is not None:
        previous = shift_window(grouping.window_starts, parse_granularity(grouping.granularity), -1)
        pairs = drift.consecutive_pairs(
            grouping.window_starts, previous, codes, grouping.code, grouping.key, rows
        )
    if baseline is not None:
        pairs.extend(
            _baseline_pairs(grouping, codes, baseline.groupings[_baseline_index(baseline, index)])
        )
    return pairs


def _baseline_pairs(grouping: Grouping, codes: list[int], base: Grouping) -> list[drift.Comparison]:
    """Pair each group with the baseline group of the same slice (and model id if present)."""
    model_index = {value: position for position, value in enumerate(base.model_values)}
    pairs = []
    for code in codes:
        _, slice_index, model = grouping.key(code)
        if len(base.model_values) == 1 and base.model_values[0] is None:
            base_model = 0
        else:
            found = model_index.get(grouping.model_values[model])
            if found is None:
                continue
            base_model = found
        pairs.append(drift.Comparison(code, base.code(0, slice_index, base_model), "BASELINE"))
    return pairs


def _quality_metrics(current: Side, config: MonitorConfig) -> list[dict[str, np.ndarray] | None]:
    names = current.reader.schema.names
    # NOTE: classification monitors get profiles and drift but no quality metrics yet.
    if config.profile_type != "InferenceLog" or config.problem_type != "regression":
        return [None] * len(current.groupings)
    if config.label_col not in names or config.prediction_col not in names:
        return [None] * len(current.groupings)
    table = current.reader.read([config.label_col, config.prediction_col])
    label, _ = _numeric_values(table.column(0), "numeric")
    prediction, _ = _numeric_values(table.column(1), "numeric")
    return [
        regression_metrics(label, prediction, grouping.codes, grouping.groups)
        for grouping in current.groupings
    ]


def _table_rows(
    index: int,
    grouping: Grouping,
    side: Side,
    quality: dict[str, np.ndarray] | None,
    log_type: str,
) -> list[dict[str, Any]]:
    rows_per_group = count_rows(grouping.codes, grouping.groups)
    rows = []
    for code in np.flatnonzero(rows_per_group > 0).tolist():
        row: dict[str, Any] = {
            "_g": index,
            "_code": code,
            "log_type": log_type,
            "column_name": TABLE,
            "count": int(rows_per_group[code]),
            "non_null_columns": sorted(drift.non_null_columns(side.columns[index], code)),
        }
        for name, values in (quality or {}).items():
            row[name] = None if np.isnan(values[code]) else float(values[code])
        rows.append(row)
    return rows


def _table_drift_rows(current: Side, baseline: Side | None) -> list[dict[str, Any]]:
    rows = []
    for index, grouping in enumerate(current.groupings):
        counts = count_rows(grouping.codes, grouping.groups)
        codes = np.flatnonzero(counts > 0).tolist()
        base_counts = None
        if baseline is not None:
            base_grouping = baseline.groupings[_baseline_index(baseline, index)]
            base_counts = count_rows(base_grouping.codes, base_grouping.groups)
        for pair in _pairs(grouping, codes, counts, baseline, index):
            if pair.drift_type == "CONSECUTIVE":
                other_columns, other_count = current.columns[index], counts
            else:
                other_columns = baseline.columns[_baseline_index(baseline, index)]
                other_count = base_counts
            if other_count[pair.comparison_code] == 0:
                continue
            row = drift.table_drift(
                drift.non_null_columns(current.columns[index], pair.code),
                drift.non_null_columns(other_columns, pair.comparison_code),
                (int(counts[pair.code]), int(other_count[pair.comparison_code])),
            )
            row.update(
                _g=index,
                _code=pair.code,
                _comparison_code=pair.comparison_code,
                drift_type=pair.drift_type,
                column_name=TABLE,
            )
            rows.append(row)
    return rows
