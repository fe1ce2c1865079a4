"""Drift rows: each group compared with the previous window (CONSECUTIVE) and the baseline.

Deltas are current minus comparison. Numeric columns get the KS test, the
Wasserstein distance and the PSI over finite values. String and boolean columns
get the chi-squared test and the TV, L-infinity and Jensen-Shannon distances.
Timestamps get only the count and percent deltas. A CONSECUTIVE row exists only
when the window right before the current one has rows in the same slice and
model id, so the first window has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from housemon_dagster.monitor import stats
from housemon_dagster.monitor.profile import ColumnMetrics, metric_value
from housemon_dagster.monitor.summaries import align_counts

DELTAS = {
    "count_delta": "count",
    "avg_delta": "avg",
    "percent_null_delta": "percent_null",
    "percent_zeros_delta": "percent_zeros",
    "percent_distinct_delta": "percent_distinct",
}


@dataclass(frozen=True)
class Comparison:
    """A current group, its comparison group, and which kind of drift this is."""

    code: int
    comparison_code: int
    drift_type: str


def compare_column(
    current: ColumnMetrics, comparison: ColumnMetrics, pair: Comparison
) -> dict[str, Any]:
    """Return the drift metrics of one column between two groups."""
    row: dict[str, Any] = {
        "_code": pair.code,
        "_comparison_code": pair.comparison_code,
        "drift_type": pair.drift_type,
        "column_name": current.name,
        "data_type": current.data_type,
    }
    for delta, metric in DELTAS.items():
        now = metric_value(current.values, metric, pair.code)
        before = metric_value(comparison.values, metric, pair.comparison_code)
        row[delta] = None if now is None or before is None else float(now - before)
    if current.kind == "numeric" and comparison.kind == "numeric":
        row.update(_numeric_drift(current, comparison, pair))
    elif current.kind == "categorical" and comparison.kind == "categorical":
        row.update(_categorical_drift(current, comparison, pair))
    return row


def _numeric_drift(
    current: ColumnMetrics, comparison: ColumnMetrics, pair: Comparison
) -> dict[str, Any]:
    now = current.summary.finite_group(pair.code)
    before = comparison.summary.finite_group(pair.comparison_code)
    (statistic, pvalue), distance = stats.ks_and_wasserstein(now, before)
    return {
        "ks_test": None if statistic is None else {"statistic": statistic, "pvalue": pvalue},
        "wasserstein_distance": distance,
        "population_stability_index": stats.population_stability_index(now, before),
    }


def _categorical_drift(
    current: ColumnMetrics, comparison: ColumnMetrics, pair: Comparison
) -> dict[str, Any]:
    now, before = align_counts(
        current.summary.group(pair.code), comparison.summary.group(pair.comparison_code)
    )
    statistic, pvalue = stats.chi_squared_test(now, before)
    return {
        "chi_squared_test": None
        if statistic is None
        else {"statistic": statistic, "pvalue": pvalue},
        "tv_distance": stats.tv_distance(now, before),
        "l_infinity_distance": stats.l_infinity_distance(now, before),
        "js_distance": stats.js_distance(now, before),
    }


def table_drift(
    current_columns: set[str], comparison_columns: set[str], counts: tuple[int, int]
) -> dict[str, Any]:
    """Return the ``:table`` drift metrics: row count delta and non-null column changes."""
    return {
        "count_delta": float(counts[0] - counts[1]),
        "non_null_columns_delta": {
            "added": len(current_columns - comparison_columns),
            "missing": len(comparison_columns - current_columns),
        },
    }


def non_null_columns(columns: list[ColumnMetrics], code: int) -> set[str]:
    """Return the names of the columns with at least one non-null value in a group."""
    return {metrics.name for metrics in columns if metrics.non_null[code] > 0}


def consecutive_pairs(
    window_starts: np.ndarray,
    previous_starts: np.ndarray,
    codes: list[int],
    code_of: Any,
    key_of: Any,
    rows: np.ndarray,
) -> list[Comparison]:
    """Pair each group with the same slice and model id in the window just before it."""
    index_of_start = {int(start): index for index, start in enumerate(window_starts)}
    pairs = []
    for code in codes:
        window, slice_index, model = key_of(code)
        previous = index_of_start.get(int(previous_starts[window]))
        if previous is None:
            continue
        comparison_code = code_of(previous, slice_index, model)
        if rows[comparison_code] > 0:
            pairs.append(Comparison(code, comparison_code, "CONSECUTIVE"))
    return pairs
