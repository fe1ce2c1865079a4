"""Custom metrics evaluated as SQL with DuckDB, written as extra profile and drift columns.

Aggregate metrics run as ``SELECT <definition> ... GROUP BY <group>`` over the raw
rows, once per input column with ``{{input_column}}`` replaced by that column's
quoted name; ``:table`` gives one value on the ``:table`` row. Derived metrics run
over the profile rows and may name any aggregate metric or built-in scalar metric
of the same row. Drift metrics run over pairs of profile rows, where
``{{current_df}}`` is the current window's row and ``{{base_df}}`` the comparison
window's (or the baseline's) row.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from housemon_dagster.monitor.config import TABLE_COLUMN, CustomMetric
from housemon_dagster.monitor.frame import Grouping, TableReader, referenced_columns

log = logging.getLogger(__name__)

SCALAR_METRICS = (
    "count",
    "num_nulls",
    "avg",
    "min",
    "max",
    "stddev",
    "num_zeros",
    "num_nan",
    "min_length",
    "max_length",
    "avg_length",
    "median",
    "distinct_count",
    "percent_nan",
    "percent_null",
    "percent_zeros",
    "percent_distinct",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_average_error",
    "mean_absolute_percentage_error",
    "r2_score",
)


class CustomMetricError(ValueError):
    """Raised when a custom metric's SQL fails; the message names the metric."""


def _run(metric: CustomMetric, query: str, tables: dict[str, pa.Table]) -> pa.Table:
    connection = duckdb.connect()
    try:
        for name, table in tables.items():
            connection.register(name, table)
        return connection.sql(query).to_arrow_table()
    except duckdb.Error as error:
        raise CustomMetricError(
            f"custom metric {metric.name} failed on {metric.definition!r}: {error}"
        ) from error
    finally:
        connection.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def aggregate_values(
    metrics: list[CustomMetric],
    reader: TableReader,
    groupings: list[Grouping],
    *,
    skip_failures: bool = False,
) -> dict[tuple[int, int, str], dict[str, Any]]:
    """Evaluate aggregate metrics per grouping and group: (grouping, code, column) -> values.

    With ``skip_failures`` a metric whose SQL fails, for example on a baseline table
    that lacks a column it names, is left null and logged instead of raising.
    """
    if not metrics:
        return {}
    needed: set[str] = set()
    for metric in metrics:
        needed.update(referenced_columns(metric.definition, reader.schema))
        needed.update(name for name in metric.input_columns if name in reader.schema.names)
    columns = [name for name in reader.schema.names if name in needed]
    data = reader.read(columns) if columns else None
    results: dict[tuple[int, int, str], dict[str, Any]] = {}
    for index, grouping in enumerate(groupings):
        codes = pa.array(grouping.codes)
        frame = pa.table({"_code": codes}) if data is None else data.append_column("_code", codes)
        for metric in metrics:
            for input_column in metric.input_columns:
                if input_column != TABLE_COLUMN and input_column not in reader.schema.names:
                    continue
                expression = metric.definition.replace("{{input_column}}", _quote(input_column))
                # NOTE: DuckDB sums in no fixed order, so a floating-point aggregate may
                # differ in its last bits between incremental and full refreshes.
                query = (
                    f"SELECT _code, ({expression}) AS value FROM frame "
                    "WHERE _code >= 0 GROUP BY _code"
                )
                try:
                    table = _run(metric, query, {"frame": frame})
                except CustomMetricError as error:
                    if not skip_failures:
                        raise
                    log.info(
                        "Left custom metric %s null on %s: %s", metric.name, reader.name, error
                    )
                    continue
                for code, value in zip(table.column(0).to_pylist(), table.column(1).to_pylist()):
                    key = (index, code, input_column)
                    results.setdefault(key, {})[metric.name] = value
    return results


def _scalar_table(rows: list[dict[str, Any]], names: list[str]) -> pa.Table:
    columns: dict[str, Any] = {"_row": pa.array(np.arange(len(rows)))}
    columns["column_name"] = pa.array([row.get("column_name") for row in rows], pa.string())
    for name in names:
        values = [row.get(name) for row in rows]
        columns[name] = pa.array(
            [None if value is None else float(value) for value in values], pa.float64()
        )
    return pa.table(columns)


def apply_derived(
    metrics: list[CustomMetric], rows: list[dict[str, Any]], names: list[str]
) -> None:
    """Add derived metric values to profile rows in place."""
    if not metrics or not rows:
        return
    frame = _scalar_table(rows, names)
    for metric in metrics:
        targets = ", ".join("'" + name.replace("'", "''") + "'" for name in metric.input_columns)
        query = (
            f"SELECT CASE WHEN column_name IN ({targets}) THEN ({metric.definition}) END "
            "AS value FROM frame ORDER BY _row"
        )
        values = _run(metric, query, {"frame": frame}).column(0).to_pylist()
        for row, value in zip(rows, values):
            row[metric.name] = value
        frame = frame.append_column(metric.name, pa.array(values).cast(pa.float64()))
        names = names + [metric.name]


def apply_drift(
    metrics: list[CustomMetric],
    drift_rows: list[dict[str, Any]],
    current_rows: list[dict[str, Any] | None],
    base_rows: list[dict[str, Any] | None],
    names: list[str],
) -> None:
    """Add drift metric values to drift rows in place, from aligned current and base rows."""
    if not metrics or not drift_rows:
        return
    empty: dict[str, Any] = {}
    current = _scalar_table([row or empty for row in current_rows], names)
    base = _scalar_table([row or empty for row in base_rows], names)
    for metric in metrics:
        expression = metric.definition.replace("{{current_df}}", "current_df")
        expression = expression.replace("{{base_df}}", "base_df")
        targets = ", ".join("'" + name.replace("'", "''") + "'" for name in metric.input_columns)
        query = (
            f"SELECT CASE WHEN current_df.column_name IN ({targets}) THEN ({expression}) END "
            "AS value FROM current_df JOIN base_df USING (_row) ORDER BY _row"
        )
        values = _run(metric, query, {"current_df": current, "base_df": base}).column(0)
        for row, value in zip(drift_rows, values.to_pylist()):
            row[metric.name] = value
