"""SQL alert conditions, evaluated the way Databricks SQL alerts (v2) evaluate them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from housemon_dagster.resources.base import AlertSpec

OPERATORS = {
    "GREATER_THAN": lambda v, t: v > t,
    "GREATER_THAN_OR_EQUAL": lambda v, t: v >= t,
    "LESS_THAN": lambda v, t: v < t,
    "LESS_THAN_OR_EQUAL": lambda v, t: v <= t,
    "EQUAL": lambda v, t: v == t,
    "NOT_EQUAL": lambda v, t: v != t,
}
AGGREGATIONS = ("SUM", "COUNT", "COUNT_DISTINCT", "AVG", "MEDIAN", "MIN", "MAX", "STDDEV")
STATES = ("OK", "TRIGGERED", "ERROR", "UNKNOWN")

ALERT_COLUMN = "percent_windows_mae_above_threshold"


def default_alert_query(
    *, profile_table: str, granularity: str, mae_threshold: float, lookback_windows: int
) -> str:
    """Percentage of the latest windows whose mean absolute error exceeds a threshold.

    Only whole-table INPUT rows with a known error count as windows, so windows
    whose labels have not arrived yet do not dilute the percentage. With no such
    window the query returns one NULL row, which the evaluation handles explicitly.
    The profile column is ``mean_average_error``: Lakehouse Monitoring's name for MAE.
    """
    return f"""
WITH windows AS (
  SELECT `window`.`start` AS window_start, mean_average_error AS mae
  FROM {profile_table}
  WHERE column_name = ':table'
    AND log_type = 'INPUT'
    AND slice_key IS NULL
    AND granularity = '{granularity}'
    AND mean_average_error IS NOT NULL
),
latest AS (
  SELECT mae FROM windows ORDER BY window_start DESC LIMIT {int(lookback_windows)}
)
SELECT 100.0 * SUM(CASE WHEN mae > {float(mae_threshold)} THEN 1 ELSE 0 END) / COUNT(*)
  AS {ALERT_COLUMN}
FROM latest
""".strip()


def validate_spec(spec: AlertSpec) -> None:
    if spec.operator not in OPERATORS:
        raise ValueError(
            f"alert {spec.display_name!r} has operator {spec.operator!r}; use one of {list(OPERATORS)}"
        )
    if spec.aggregation is not None and spec.aggregation not in AGGREGATIONS:
        raise ValueError(
            f"alert {spec.display_name!r} has aggregation {spec.aggregation!r}; "
            f"use one of {list(AGGREGATIONS)} or none"
        )
    if spec.empty_result_state not in STATES:
        raise ValueError(
            f"alert {spec.display_name!r} has empty_result_state {spec.empty_result_state!r}; "
            f"use one of {list(STATES)}"
        )


def aggregate(values: Sequence[Any], aggregation: str | None) -> float | None:
    """Reduce the source column to one value; without aggregation, take the first row."""
    numbers = [float(v) for v in values if v is not None and not _is_nan(v)]
    if aggregation is None:
        return None if not values or values[0] is None or _is_nan(values[0]) else float(values[0])
    if aggregation == "COUNT":
        return float(len(numbers))
    if aggregation == "COUNT_DISTINCT":
        return float(len(set(numbers)))
    if not numbers:
        return None
    if aggregation == "SUM":
        return math.fsum(numbers)
    if aggregation == "AVG":
        return math.fsum(numbers) / len(numbers)
    if aggregation == "MIN":
        return min(numbers)
    if aggregation == "MAX":
        return max(numbers)
    ordered = sorted(numbers)
    if aggregation == "MEDIAN":
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    mean = math.fsum(numbers) / len(numbers)
    return math.sqrt(math.fsum((x - mean) ** 2 for x in numbers) / max(len(numbers) - 1, 1))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def decide_state(spec: AlertSpec, rows: list[dict[str, Any]]) -> tuple[float | None, str, str]:
    """Return the value, the state and a message for the query's result rows.

    An empty result, or a NULL value (what an aggregate without GROUP BY returns
    on no rows), takes ``empty_result_state`` instead of comparing as "not triggered".
    """
    if rows and spec.source_column not in rows[0]:
        return None, "ERROR", (
            f"query result has no column {spec.source_column!r}; it has {sorted(rows[0])}"
        )
    value = aggregate([row[spec.source_column] for row in rows], spec.aggregation)
    if value is None:
        state = spec.empty_result_state
        return None, state, f"query returned no value; state set to {state} by empty_result_state"
    triggered = OPERATORS[spec.operator](value, spec.threshold)
    state = "TRIGGERED" if triggered else "OK"
    relation = "meets" if triggered else "does not meet"
    return value, state, f"{spec.source_column}={value:.4g} {relation} {spec.operator} {spec.threshold:g}"
