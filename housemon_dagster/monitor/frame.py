"""Column-at-a-time reads of the monitored table and the groupings of its rows.

A grouping is one (granularity, slicing expression) pair: it gives every row the
code of its (window, slice value, model id) group. Columns are read one at a time
and summarised for every grouping before the next is read, which bounds memory
to a few columns of the table.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from housemon_dagster.core.tables import TableStore
from housemon_dagster.monitor.summaries import GroupedRows, group_rows
from housemon_dagster.monitor.windows import Granularity, parse_granularity, to_utc_micros
from housemon_dagster.monitor.windows import window_start as align_windows

log = logging.getLogger(__name__)

MAX_SLICE_VALUES = 100
# Reads of at most this many rows x columns are done in one scan and kept in memory.
SINGLE_SCAN_CELLS = 30_000_000
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TableReader:
    """A reader of one table version's columns, restricted to time intervals if given.

    ``intervals`` are [start, end) UTC microsecond ranges of ``timestamp_col``. On a
    Delta table the filter is pushed down to the Parquet scan, so files outside the
    intervals are skipped. Small selections are read in one scan and kept.
    """

    def __init__(
        self,
        store: TableStore,
        name: str,
        *,
        timestamp_col: str | None = None,
        intervals: list[tuple[int, int]] | None = None,
    ) -> None:
        self.name = name
        self._store = store
        self._dataset: ds.Dataset | None = None
        self._filter: ds.Expression | None = None
        self._mask: pa.Array | None = None
        self._cache: pa.Table | None = None
        self._rows: int | None = None
        if hasattr(store, "table"):
            delta = store.table(name)
            self.version: int | None = delta.version()
            self._dataset = delta.to_pyarrow_dataset()
            self.schema = self._dataset.schema
        else:
            self.version = store.version(name)
            self.schema = store.read_arrow(name).schema
        if intervals is not None and timestamp_col:
            self._restrict(timestamp_col, intervals)

    def _restrict(self, timestamp_col: str, intervals: list[tuple[int, int]]) -> None:
        kind = self.schema.field(timestamp_col).type
        field = ds.field(timestamp_col)
        if pa.types.is_date(kind):
            # Window bounds inside a day would truncate to the same date, so dates are
            # compared as midnight timestamps instead.
            kind = pa.timestamp("us", tz="UTC")
            field = field.cast(kind)
        condition = ds.scalar(False)
        for start, end in intervals:
            low = pa.scalar(start, pa.timestamp("us", tz="UTC")).cast(kind)
            high = pa.scalar(end, pa.timestamp("us", tz="UTC")).cast(kind)
            condition = condition | ((field >= low) & (field < high))
        if self._dataset is not None:
            self._filter = condition
            return
        table = self._store.read_arrow(self.name, columns=[timestamp_col])
        selected = ds.dataset(table).to_table(columns={"selected": condition})
        self._mask = pc.fill_null(selected.column(0), False)

    def read(self, columns: list[str]) -> pa.Table:
        """Read ``columns`` for the selected rows, in a stable row order."""
        if self._dataset is not None:
            if self._cache is None and self._small():
                self._cache = self._dataset.to_table(filter=self._filter)
            if self._cache is not None:
                return self._cache.select(columns)
            return self._dataset.to_table(columns=columns, filter=self._filter)
        table = self._store.read_arrow(self.name, columns=columns)
        return table.filter(self._mask) if self._mask is not None else table

    def _small(self) -> bool:
        """Check whether the selected rows are few enough to read every column in one scan.

        One scan opens each Parquet file once instead of once per column, which makes
        incremental refreshes cheap. Larger reads go column by column to bound memory.
        """
        if self._rows is None:
            self._rows = self._dataset.count_rows(filter=self._filter)
        return self._rows * len(self.schema.names) <= SINGLE_SCAN_CELLS

    def column(self, name: str) -> pa.ChunkedArray:
        return self.read([name]).column(0)


def referenced_columns(expression: str, schema: pa.Schema) -> list[str]:
    """Return the table columns that a SQL expression mentions by name."""
    tokens = set(_IDENTIFIER.findall(expression.replace("`", "")))
    return [name for name in schema.names if name in tokens]


def evaluate_expression(expression: str, table: pa.Table) -> pa.ChunkedArray:
    """Evaluate a SQL expression per row with DuckDB, returning strings (null stays null)."""
    connection = duckdb.connect()
    try:
        connection.register("frame", table)
        query = f"SELECT CAST(({expression}) AS VARCHAR) AS value FROM frame"
        result = connection.sql(query).to_arrow_table()
    except duckdb.Error as error:
        raise ValueError(f"slicing expression {expression!r} failed: {error}") from error
    finally:
        connection.close()
    return result.column(0)


def top_values(values: pa.ChunkedArray, limit: int = MAX_SLICE_VALUES) -> list[str | None]:
    """Return the ``limit`` most frequent values, ties broken by value, in sorted order."""
    counts = pc.value_counts(values.combine_chunks())
    pairs = Counter({row["values"]: row["counts"] for row in counts.to_pylist()})
    ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    kept = [value for value, _ in ranked[:limit]]
    return sorted(kept, key=lambda value: (value is None, value or ""))


def encode_values(values: pa.ChunkedArray, vocabulary: list[Any]) -> np.ndarray:
    """Return each value's index in ``vocabulary`` (null matches None), or -1."""
    known = [value for value in vocabulary if value is not None]
    indices = pc.index_in(values, value_set=pa.array(known, type=values.type))
    codes = np.asarray(pc.fill_null(indices, -1), dtype=np.int64)
    positions = np.array([vocabulary.index(value) for value in known] + [-1], dtype=np.int64)
    codes = positions[codes]
    if None in vocabulary:
        codes[np.asarray(pc.is_null(values), dtype=bool)] = vocabulary.index(None)
    return codes


@dataclass
class Grouping:
    """Group codes of every row for one granularity and one slicing expression."""

    granularity: str | None
    slice_key: str | None
    codes: np.ndarray
    window_starts: np.ndarray
    slice_values: list[str | None]
    model_values: list[str | None]
    _grouped: GroupedRows | None = None

    def grouped_rows(self) -> GroupedRows:
        """Return the rows ordered by group, computed once and shared by every column."""
        if self._grouped is None:
            self._grouped = group_rows(self.codes, self.groups)
        return self._grouped

    @property
    def groups(self) -> int:
        return len(self.window_starts) * len(self.slice_values) * len(self.model_values)

    def key(self, code: int) -> tuple[int, int, int]:
        """Return (window index, slice index, model index) of a group code."""
        models = len(self.model_values)
        slices = len(self.slice_values)
        return code // (slices * models), (code // models) % slices, code % models

    def code(self, window: int, slice_index: int, model: int) -> int:
        return (window * len(self.slice_values) + slice_index) * len(self.model_values) + model


@dataclass
class RowKeys:
    """Per-row window and group inputs shared by every grouping of a table read."""

    micros: np.ndarray | None
    valid_time: np.ndarray
    model_codes: np.ndarray
    model_values: list[str | None]
    slice_codes: dict[str, np.ndarray]


def make_groupings(
    keys: RowKeys,
    *,
    granularities: tuple[str, ...],
    slice_vocabularies: dict[str, list[str | None]],
    snapshot_start: int | None = None,
) -> list[Grouping]:
    """Build one grouping per granularity and slicing expression (None for the whole table)."""
    groupings = []
    specs: list[str | None] = [None, *slice_vocabularies]
    time_specs: list[str | None] = list(granularities) if keys.micros is not None else [None]
    for granularity in time_specs:
        windows, window_codes = _window_codes(keys, granularity, snapshot_start)
        for slice_key in specs:
            if slice_key is None:
                values: list[str | None] = [None]
                slice_codes = np.zeros(keys.valid_time.size, dtype=np.int64)
            else:
                values = slice_vocabularies[slice_key]
                slice_codes = keys.slice_codes[slice_key]
            models = max(len(keys.model_values), 1)
            codes = (window_codes * len(values) + slice_codes) * models + keys.model_codes
            codes[(window_codes < 0) | (slice_codes < 0) | (keys.model_codes < 0)] = -1
            groupings.append(
                Grouping(granularity, slice_key, codes, windows, values, keys.model_values)
            )
    return groupings


def _window_codes(
    keys: RowKeys, granularity: str | None, snapshot_start: int | None
) -> tuple[np.ndarray, np.ndarray]:
    rows = keys.valid_time.size
    if granularity is None or keys.micros is None:
        start = np.array([snapshot_start if snapshot_start is not None else -1], dtype=np.int64)
        return start, np.where(keys.valid_time, 0, -1).astype(np.int64)
    parsed: Granularity = parse_granularity(granularity)
    starts = align_windows(keys.micros, parsed)
    windows = np.unique(starts[keys.valid_time]) if rows else np.array([], dtype=np.int64)
    codes = np.searchsorted(windows, starts).astype(np.int64)
    codes[~keys.valid_time] = -1
    return windows, codes


def read_row_keys(
    reader: TableReader,
    *,
    timestamp_col: str | None,
    model_id_col: str | None,
    slice_vocabularies: dict[str, list[str | None]],
) -> RowKeys:
    """Read the timestamp, model id and slicing inputs, and encode them per row."""
    micros = None
    valid_time: np.ndarray | None = None
    if timestamp_col and timestamp_col in reader.schema.names:
        micros, nulls = to_utc_micros(reader.column(timestamp_col))
        valid_time = ~nulls
    model_values: list[str | None] = [None]
    model_codes: np.ndarray | None = None
    if model_id_col and model_id_col in reader.schema.names:
        models = pc.cast(reader.column(model_id_col), pa.string())
        model_values = sorted(set(models.to_pylist()), key=lambda v: (v is None, v or ""))
        model_codes = encode_values(models, model_values)
    slice_codes = {}
    for expression, vocabulary in slice_vocabularies.items():
        inputs = reader.read(referenced_columns(expression, reader.schema))
        slice_codes[expression] = encode_values(evaluate_expression(expression, inputs), vocabulary)
    rows = _row_count(micros, model_codes, slice_codes, reader)
    if valid_time is None:
        valid_time = np.ones(rows, dtype=bool)
    if model_codes is None:
        model_codes = np.zeros(rows, dtype=np.int64)
    return RowKeys(micros, valid_time, model_codes, model_values, slice_codes)


def _row_count(
    micros: np.ndarray | None,
    model_codes: np.ndarray | None,
    slice_codes: dict[str, np.ndarray],
    reader: TableReader,
) -> int:
    for known in (micros, model_codes, *slice_codes.values()):
        if known is not None:
            return int(known.size)
    return reader.read([reader.schema.names[0]]).num_rows
