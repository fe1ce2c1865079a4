"""Profile metrics per group: one row per column, plus a ``:table`` row per group.

Definitions, per group of rows (a window x slice x model id):

- ``count`` is the number of rows in the group, the same for every column.
- ``percent_null``, ``percent_nan`` and ``percent_zeros`` are 100 x num_nulls,
  num_nan and num_zeros over ``count``; ``percent_distinct`` is 100 x
  distinct_count over the non-null, non-NaN values. All are on a 0-100 scale.
- Numeric ``avg``, ``stddev`` (sample, n - 1), ``min``, ``max``, ``median`` and
  the 1001 ``quantiles`` (0.000 to 1.000, linear interpolation) skip nulls and
  NaN. Infinities count as values, so ``avg`` may be infinite.
- Timestamp columns get ``min``, ``max`` and ``median`` in epoch seconds and a
  null ``avg``; strings and booleans get lengths and the frequent items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from housemon_dagster.monitor.summaries import (
    CategoricalSummary,
    NumericSummary,
    numeric_moments,
)

FREQUENT_ITEMS_LIMIT = 100
TABLE = ":table"


@dataclass
class ColumnMetrics:
    """Per-group metric arrays of one column in one grouping, shared by profile and drift."""

    name: str
    kind: str
    data_type: str
    summary: NumericSummary | CategoricalSummary
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def non_null(self) -> np.ndarray:
        return self.values["count"] - self.values["num_nulls"]


def _percent(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, 100.0 * part / np.maximum(whole, 1), np.nan)


def numeric_metrics(name: str, kind: str, data_type: str, summary: NumericSummary) -> ColumnMetrics:
    """Compute the profile metrics of a numeric or timestamp column for every group."""
    moments = numeric_moments(summary)
    rows = summary.rows
    values: dict[str, Any] = {
        "count": rows,
        "num_nulls": summary.nulls,
        "min": moments.minimum,
        "max": moments.maximum,
        "median": moments.quantiles[:, 500],
        "distinct_count": moments.distinct,
        "percent_null": _percent(summary.nulls, rows),
        "percent_distinct": _percent(moments.distinct, summary.sizes),
    }
    if kind == "numeric":
        values.update(
            avg=moments.mean,
            stddev=moments.stddev,
            quantiles=moments.quantiles,
            num_zeros=moments.zeros,
            num_nan=summary.nans,
            percent_nan=_percent(summary.nans, rows),
            percent_zeros=_percent(moments.zeros, rows),
        )
    return ColumnMetrics(name, kind, data_type, summary, values)


def categorical_metrics(
    name: str, data_type: str, summary: CategoricalSummary, dictionary: list[str]
) -> ColumnMetrics:
    """Compute the profile metrics of a string or boolean column for every group."""
    groups = summary.rows.size
    lengths = np.array([len(item) for item in dictionary], dtype=np.int64)
    sizes = np.diff(summary.starts)
    triple_groups = np.repeat(np.arange(groups), sizes)
    item_lengths = lengths[summary.categories] if summary.categories.size else lengths[:0]
    present = sizes > 0
    non_null = np.bincount(triple_groups, weights=summary.counts, minlength=groups)
    total_length = np.bincount(
        triple_groups, weights=summary.counts * item_lengths, minlength=groups
    )
    min_length = np.full(groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(min_length, triple_groups, item_lengths)
    max_length = np.full(groups, -1, dtype=np.int64)
    np.maximum.at(max_length, triple_groups, item_lengths)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_length = np.where(non_null > 0, total_length / np.maximum(non_null, 1), np.nan)
    values: dict[str, Any] = {
        "count": summary.rows,
        "num_nulls": summary.nulls,
        "distinct_count": sizes.astype(np.int64),
        "percent_null": _percent(summary.nulls, summary.rows),
        "percent_distinct": _percent(sizes, non_null),
        "min_length": np.where(present, min_length, -1),
        "max_length": np.where(present, max_length, -1),
        "avg_length": avg_length,
        "frequent_items": [_frequent_items(summary, code, dictionary) for code in range(groups)],
    }
    return ColumnMetrics(name, "categorical", data_type, summary, values)


def _frequent_items(
    summary: CategoricalSummary, code: int, dictionary: list[str]
) -> list[dict[str, Any]] | None:
    categories, counts = summary.group(code)
    if categories.size == 0:
        return None
    items = [dictionary[index] for index in categories]
    ranked = sorted(zip(items, counts.tolist()), key=lambda pair: (-pair[1], pair[0]))
    return [{"item": item, "count": count} for item, count in ranked[:FREQUENT_ITEMS_LIMIT]]


def metric_value(values: dict[str, Any], name: str, code: int) -> Any:
    """Return one group's value of a metric as a Python scalar, list or None."""
    if name not in values:
        return None
    column = values[name]
    if name == "frequent_items":
        return column[code]
    if name == "quantiles":
        row = column[code]
        return None if np.isnan(row).all() else row.tolist()
    value = column[code]
    if isinstance(value, (np.integer, int)):
        return None if value < 0 else int(value)
    return None if np.isnan(value) else float(value)


PROFILE_FIELDS = (
    "count",
    "num_nulls",
    "avg",
    "quantiles",
    "min",
    "max",
    "stddev",
    "num_zeros",
    "num_nan",
    "min_length",
    "max_length",
    "avg_length",
    "frequent_items",
    "median",
    "distinct_count",
    "percent_nan",
    "percent_null",
    "percent_zeros",
    "percent_distinct",
)


def column_rows(metrics: ColumnMetrics, codes: list[int]) -> list[dict[str, Any]]:
    """Return the profile rows of one column for the given group codes."""
    rows = []
    for code in codes:
        row = {"_code": code, "column_name": metrics.name, "data_type": metrics.data_type}
        for name in PROFILE_FIELDS:
            row[name] = metric_value(metrics.values, name, code)
        rows.append(row)
    return rows


def regression_metrics(
    label: np.ndarray, prediction: np.ndarray, codes: np.ndarray, groups: int
) -> dict[str, np.ndarray]:
    """Compute MSE, RMSE, MAE, MAPE and R^2 per group over rows with a finite label and prediction.

    MAPE is a fraction (not a percentage): mean(|y - p| / max(|y|, eps)) with eps the
    float64 machine epsilon, as scikit-learn defines it. R^2 is 1 - SS_res / SS_tot; it is
    null below two rows, and with SS_tot = 0 it is 1 for a perfect fit and 0 otherwise.
    """
    kept = (codes >= 0) & np.isfinite(label) & np.isfinite(prediction)
    order = np.argsort(codes[kept], kind="stable")
    group, y, p = codes[kept][order], label[kept][order], prediction[kept][order]
    n = np.bincount(group, minlength=groups).astype(np.float64)
    error = y - p
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mse = _ordered_sums(group, error**2, groups) / n
        mae = _ordered_sums(group, np.abs(error), groups) / n
        relative = np.abs(error) / np.maximum(np.abs(y), np.finfo(np.float64).eps)
        mape = _ordered_sums(group, relative, groups) / n
        mean_y = _ordered_sums(group, y, groups) / n
        total = _ordered_sums(group, (y - mean_y[group]) ** 2, groups)
        residual = mse * n
        r2 = np.where(total > 0, 1.0 - residual / total, np.where(residual == 0, 1.0, 0.0))
    r2 = np.where(n >= 2, r2, np.nan)
    return {
        "mean_squared_error": np.where(n > 0, mse, np.nan),
        "root_mean_squared_error": np.where(n > 0, np.sqrt(mse), np.nan),
        "mean_average_error": np.where(n > 0, mae, np.nan),
        "mean_absolute_percentage_error": np.where(n > 0, mape, np.nan),
        "r2_score": r2,
    }


def _ordered_sums(group: np.ndarray, terms: np.ndarray, groups: int) -> np.ndarray:
    """Sum ``terms`` per group after sorting each group's terms; ``group`` must be sorted.

    Sorting first makes every sum independent of the order rows were read in, so an
    incremental refresh reproduces a full refresh to the last bit.
    """
    starts = np.zeros(groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(group, minlength=groups), out=starts[1:])
    terms = terms.copy()
    for code in np.flatnonzero(np.diff(starts) > 1).tolist():
        terms[starts[code] : starts[code + 1]].sort()
    return np.bincount(group, weights=terms, minlength=groups)
