"""Per-group summaries of one column, computed for all groups at once with numpy.

A grouping assigns every row a group code in ``[0, groups)``, or -1 to leave the row
out. Numeric summaries keep each group's non-NaN values sorted, so quantiles,
distinct counts and drift tests read them without sorting again. Categorical
summaries keep sparse (group, category, count) triples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUANTILE_POINTS = np.linspace(0.0, 1.0, 1001)
# Above this many group x category cells, counts are built by sorting instead of bincount.
DENSE_COUNT_LIMIT = 20_000_000


def count_rows(codes: np.ndarray, groups: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Count the rows of each group, optionally only where ``mask`` is true."""
    selected = codes if mask is None else codes[mask]
    return np.bincount(selected[selected >= 0], minlength=groups).astype(np.int64)


@dataclass
class NumericSummary:
    """Sorted non-NaN values per group: group g is ``values[starts[g]:starts[g + 1]]``."""

    values: np.ndarray
    starts: np.ndarray
    rows: np.ndarray
    nulls: np.ndarray
    nans: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.starts)

    def group(self, code: int) -> np.ndarray:
        return self.values[self.starts[code] : self.starts[code + 1]]

    def finite_group(self, code: int) -> np.ndarray:
        """Return the group's finite values, still sorted."""
        values = self.group(code)
        return values[np.isfinite(values)]


@dataclass
class ColumnValues:
    """A numeric column as float64 with its null and NaN masks."""

    values: np.ndarray
    nulls: np.ndarray
    nans: np.ndarray

    @classmethod
    def build(cls, values: np.ndarray, nulls: np.ndarray) -> ColumnValues:
        values = values.astype(np.float64, copy=False)
        nans = np.isnan(values) & ~nulls
        return cls(values=values, nulls=nulls, nans=nans)


@dataclass
class GroupedRows:
    """Row indices ordered by group code (rows with code -1 left out), shared by columns.

    Group g's rows are ``order[starts[g]:starts[g + 1]]``, in table order.
    """

    order: np.ndarray
    starts: np.ndarray
    group_of: np.ndarray

    @property
    def rows(self) -> np.ndarray:
        return np.diff(self.starts)


def group_rows(codes: np.ndarray, groups: int) -> GroupedRows:
    """Order row indices by group code with one radix sort."""
    narrow = codes.astype(np.int16) if groups < np.iinfo(np.int16).max else codes
    order = np.argsort(narrow, kind="stable")
    sizes = np.bincount(codes[codes >= 0], minlength=groups)
    order = order[codes.size - int(sizes.sum()) :]
    if codes.size < np.iinfo(np.int32).max:
        order = order.astype(np.int32)
    starts = np.zeros(groups + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    group_of = np.repeat(np.arange(groups, dtype=np.int64), sizes)
    return GroupedRows(order=order, starts=starts, group_of=group_of)


def summarize_numeric(column: ColumnValues, grouped: GroupedRows) -> NumericSummary:
    """Gather the column by group, drop nulls and NaN, and sort each group's values."""
    groups = grouped.starts.size - 1
    nulls = column.nulls[grouped.order]
    nans = column.nans[grouped.order]
    kept = ~(nulls | nans)
    values = column.values[grouped.order][kept]
    sizes = np.bincount(grouped.group_of[kept], minlength=groups)
    starts = np.zeros(groups + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    for group in np.flatnonzero(sizes > 1).tolist():
        values[starts[group] : starts[group + 1]].sort()
    return NumericSummary(
        values=values,
        starts=starts,
        rows=grouped.rows.astype(np.int64),
        nulls=np.bincount(grouped.group_of[nulls], minlength=groups).astype(np.int64),
        nans=np.bincount(grouped.group_of[nans], minlength=groups).astype(np.int64),
    )


@dataclass
class NumericMoments:
    """Per-group statistics of a numeric summary; NaN marks an undefined value."""

    minimum: np.ndarray
    maximum: np.ndarray
    mean: np.ndarray
    stddev: np.ndarray
    zeros: np.ndarray
    distinct: np.ndarray
    quantiles: np.ndarray


def numeric_moments(summary: NumericSummary) -> NumericMoments:
    """Compute min, max, mean, sample stddev, zeros, distinct values and 1001 quantiles."""
    sizes = summary.sizes
    groups = sizes.size
    values = summary.values
    codes = np.repeat(np.arange(groups), sizes)
    present = sizes > 0
    first = np.minimum(summary.starts[:-1], max(values.size - 1, 0))
    last = np.maximum(summary.starts[1:] - 1, 0)
    minimum = np.where(present, values[first] if values.size else np.nan, np.nan)
    maximum = np.where(present, values[last] if values.size else np.nan, np.nan)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean = np.bincount(codes, weights=values, minlength=groups) / sizes
        deviations = (values - mean[codes]) ** 2
        variance = np.bincount(codes, weights=deviations, minlength=groups) / (sizes - 1)
        stddev = np.where(sizes > 1, np.sqrt(variance), np.nan)
    distinct = np.ones(values.size, dtype=bool)
    if values.size > 1:
        distinct[1:] = (values[1:] != values[:-1]) | (codes[1:] != codes[:-1])
    return NumericMoments(
        minimum=minimum,
        maximum=maximum,
        mean=np.where(present, mean, np.nan),
        stddev=stddev,
        zeros=np.bincount(codes[values == 0], minlength=groups).astype(np.int64),
        distinct=np.bincount(codes[distinct], minlength=groups).astype(np.int64),
        quantiles=_group_quantiles(values, summary.starts, sizes),
    )


def _group_quantiles(values: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Return a groups x 1001 matrix of linear-interpolation quantiles (NaN for empty groups)."""
    result = np.full((sizes.size, QUANTILE_POINTS.size), np.nan)
    present = np.flatnonzero(sizes > 0)
    if present.size == 0:
        return result
    positions = QUANTILE_POINTS[None, :] * (sizes[present, None] - 1)
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, sizes[present, None] - 1)
    fraction = positions - lower
    base = starts[present, None]
    low_values = values[base + lower]
    high_values = values[base + upper]
    with np.errstate(invalid="ignore"):
        interpolated = low_values + (high_values - low_values) * fraction
    # Infinite neighbours make inf - inf; the lower value is then the quantile.
    result[present] = np.where(np.isnan(interpolated), low_values, interpolated)
    return result


@dataclass
class CategoricalSummary:
    """Sparse category counts per group: triples sorted by group, then category index."""

    categories: np.ndarray
    counts: np.ndarray
    starts: np.ndarray
    rows: np.ndarray
    nulls: np.ndarray

    def group(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        span = slice(self.starts[code], self.starts[code + 1])
        return self.categories[span], self.counts[span]


def summarize_categorical(
    indices: np.ndarray, dictionary_size: int, codes: np.ndarray, groups: int
) -> CategoricalSummary:
    """Count each category per group; ``indices`` are dictionary indices, -1 for null."""
    kept = (codes >= 0) & (indices >= 0)
    keys = codes[kept].astype(np.int64) * dictionary_size + indices[kept]
    width = max(dictionary_size, 1)
    if groups * width <= DENSE_COUNT_LIMIT:
        dense = np.bincount(keys, minlength=groups * width)
        present = np.flatnonzero(dense)
        unique_keys, counts = present, dense[present]
    else:
        unique_keys, counts = np.unique(keys, return_counts=True)
    triple_groups = unique_keys // width
    starts = np.zeros(groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(triple_groups, minlength=groups), out=starts[1:])
    return CategoricalSummary(
        categories=(unique_keys % width).astype(np.int64),
        counts=counts.astype(np.int64),
        starts=starts,
        rows=count_rows(codes, groups),
        nulls=count_rows(codes, groups, indices < 0),
    )


def align_counts(
    left: tuple[np.ndarray, np.ndarray], right: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Return two count vectors over the union of both sides' categories."""
    union = np.union1d(left[0], right[0])
    left_counts = np.zeros(union.size, dtype=np.int64)
    right_counts = np.zeros(union.size, dtype=np.int64)
    left_counts[np.searchsorted(union, left[0])] = left[1]
    right_counts[np.searchsorted(union, right[0])] = right[1]
    return left_counts, right_counts
