"""Drift statistics between a current sample and a comparison sample.

Numeric statistics take two sorted float64 arrays of finite values; NaN and
infinities are removed by the caller. Categorical statistics take two aligned
count vectors over the union of categories seen on either side, so a category
seen on one side only has a zero count on the other. Every function returns None
(or a pair of None) when the statistic is undefined, for example on an empty side.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as sps

# Above this product of the sample sizes the KS p-value is asymptotic. The exact
# method costs O(n1 * n2), which would dominate refreshes of mid-sized windows.
KS_EXACT_MAX_PRODUCT = 1_000_000
PSI_BINS = 10
PSI_EPSILON = 1e-4


def ks_test(current: np.ndarray, comparison: np.ndarray) -> tuple[float | None, float | None]:
    """Run the two-sided two-sample Kolmogorov-Smirnov test; return (statistic, p-value).

    The statistic is sup_x |F_current(x) - F_comparison(x)| of the empirical CDFs, in
    [0, 1]. The p-value is exact when n1 * n2 <= 1,000,000, as scipy.stats.ks_2samp
    computes it with method="exact". Above that it is Smirnov's asymptotic
    ``kstwo.sf(D, round(n1 * n2 / (n1 + n2)))``, as with method="asymp".
    """
    n1, n2 = current.size, comparison.size
    if n1 == 0 or n2 == 0:
        return None, None
    if n1 * n2 <= KS_EXACT_MAX_PRODUCT:
        # scipy warns when its exact method falls back to the asymptotic one. That
        # fallback is part of the p-value's definition here, so the warning is dropped.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = sps.ks_2samp(current, comparison, method="exact")
        return float(result.statistic), float(result.pvalue)
    statistic = _ks_statistic(current, comparison)
    larger, smaller = max(n1, n2), min(n1, n2)
    effective_n = float(larger) * smaller / (larger + smaller)
    pvalue = float(np.clip(sps.kstwo.sf(statistic, np.round(effective_n)), 0.0, 1.0))
    return statistic, pvalue


def _ks_statistic(current: np.ndarray, comparison: np.ndarray) -> float:
    pooled = np.concatenate([current, comparison])
    cdf_current = np.searchsorted(current, pooled, side="right") / current.size
    cdf_comparison = np.searchsorted(comparison, pooled, side="right") / comparison.size
    return float(np.max(np.abs(cdf_current - cdf_comparison)))


def ks_and_wasserstein(
    current: np.ndarray, comparison: np.ndarray
) -> tuple[tuple[float | None, float | None], float | None]:
    """Return ``ks_test`` and ``wasserstein`` of two sorted samples from one merge of both.

    Both statistics read the two empirical CDFs at the pooled sorted values. A stable
    merge of the two sorted runs gives the CDFs as cumulative counts. Within a run of
    tied values only the last position is a CDF value, so the KS statistic is taken
    there. Results equal those of the two separate functions.
    """
    n1, n2 = current.size, comparison.size
    if n1 == 0 or n2 == 0:
        return (None, None), None
    pooled = np.concatenate([current, comparison])
    order = np.argsort(pooled, kind="stable")
    pooled = pooled[order]
    seen_current = np.cumsum(order < n1)
    gaps = seen_current / n1 - (np.arange(1, n1 + n2 + 1) - seen_current) / n2
    np.abs(gaps, out=gaps)
    widths = np.diff(pooled)
    distance = float(np.sum(gaps[:-1] * widths))
    if n1 * n2 <= KS_EXACT_MAX_PRODUCT:
        return ks_test(current, comparison), distance
    statistic = float(np.max(gaps[:-1][widths != 0], initial=gaps[-1]))
    larger, smaller = max(n1, n2), min(n1, n2)
    effective_n = float(larger) * smaller / (larger + smaller)
    pvalue = float(np.clip(sps.kstwo.sf(statistic, np.round(effective_n)), 0.0, 1.0))
    return (statistic, pvalue), distance


def wasserstein(current: np.ndarray, comparison: np.ndarray) -> float | None:
    """Return the first Wasserstein distance, in the column's own units.

    It is the area between the two empirical CDFs, integral |F_current - F_comparison|
    dx, as scipy.stats.wasserstein_distance computes for unweighted samples.
    """
    if current.size == 0 or comparison.size == 0:
        return None
    pooled = np.sort(np.concatenate([current, comparison]), kind="stable")
    widths = np.diff(pooled)
    cdf_current = np.searchsorted(current, pooled[:-1], side="right") / current.size
    cdf_comparison = np.searchsorted(comparison, pooled[:-1], side="right") / comparison.size
    return float(np.sum(np.abs(cdf_current - cdf_comparison) * widths))


def population_stability_index(current: np.ndarray, comparison: np.ndarray) -> float | None:
    """Return the population stability index (PSI), unitless and >= 0.

    Bin edges are the deciles of the comparison sample (equal-height bins, with
    duplicate edges merged), so bin i contains values in [edge_(i-1), edge_i) and the
    outer bins are open-ended. With p and q the current and comparison shares of
    each bin, smoothed as (share + 1e-4) / (1 + k * 1e-4) over k bins so that empty
    bins stay finite, PSI = sum((p - q) * ln(p / q)).
    """
    if current.size == 0 or comparison.size == 0:
        return None
    probabilities = np.linspace(0.0, 1.0, PSI_BINS + 1)[1:-1]
    edges = np.unique(_sorted_quantiles(comparison, probabilities))
    bins = edges.size + 1
    current_counts = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins)
    comparison_counts = np.bincount(
        np.searchsorted(edges, comparison, side="right"), minlength=bins
    )
    p = _smoothed_shares(current_counts)
    q = _smoothed_shares(comparison_counts)
    return float(np.sum((p - q) * np.log(p / q)))


def _smoothed_shares(counts: np.ndarray) -> np.ndarray:
    shares = counts / counts.sum()
    return (shares + PSI_EPSILON) / (1.0 + counts.size * PSI_EPSILON)


def _sorted_quantiles(values: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Return linear-interpolation quantiles of an already sorted array (numpy's default)."""
    positions = probabilities * (values.size - 1)
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, values.size - 1)
    fraction = positions - lower
    return values[lower] + (values[upper] - values[lower]) * fraction


def js_distance(current: np.ndarray, comparison: np.ndarray) -> float | None:
    """Return the Jensen-Shannon distance between two count vectors, in [0, 1].

    With p and q the normalised counts and m = (p + q) / 2, the distance is
    sqrt((KL(p || m) + KL(q || m)) / 2) with logarithms in base 2, which is
    scipy.spatial.distance.jensenshannon(p, q, base=2).
    """
    p, q = _distributions(current, comparison)
    if p is None or q is None:
        return None
    m = (p + q) / 2.0
    divergence = (_kl_base2(p, m) + _kl_base2(q, m)) / 2.0
    return float(math.sqrt(max(divergence, 0.0)))


def _kl_base2(p: np.ndarray, m: np.ndarray) -> float:
    present = p > 0
    return float(np.sum(p[present] * np.log2(p[present] / m[present])))


def tv_distance(current: np.ndarray, comparison: np.ndarray) -> float | None:
    """Return the total variation distance, sum(|p - q|) / 2, in [0, 1]."""
    p, q = _distributions(current, comparison)
    if p is None or q is None:
        return None
    return float(np.sum(np.abs(p - q)) / 2.0)


def l_infinity_distance(current: np.ndarray, comparison: np.ndarray) -> float | None:
    """Return the L-infinity distance, max(|p - q|) over categories, in [0, 1]."""
    p, q = _distributions(current, comparison)
    if p is None or q is None:
        return None
    return float(np.max(np.abs(p - q)))


def _distributions(
    current: np.ndarray, comparison: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    current_total = float(np.sum(current))
    comparison_total = float(np.sum(comparison))
    if current.size == 0 or current_total <= 0 or comparison_total <= 0:
        return None, None
    return current / current_total, comparison / comparison_total


def chi_squared_test(
    current: np.ndarray, comparison: np.ndarray
) -> tuple[float | None, float | None]:
    """Run Pearson's chi-squared test of independence on the 2 x K table of counts.

    Expected counts are row total x column total / grand total, and the statistic is
    sum((|observed - expected| - c)^2 / expected) with dof = K - 1. As in
    scipy.stats.chi2_contingency (correction=True), Yates' correction c = min(0.5,
    |observed - expected|) applies only when dof == 1, otherwise c = 0. The p-value is
    the chi-squared survival function at the statistic. With a single category the
    statistic is 0 and the p-value 1.
    """
    observed = np.vstack([current, comparison]).astype(np.float64)
    observed = observed[:, observed.sum(axis=0) > 0]
    row_totals = observed.sum(axis=1)
    if observed.shape[1] == 0 or np.any(row_totals <= 0):
        return None, None
    dof = observed.shape[1] - 1
    if dof == 0:
        return 0.0, 1.0
    expected = np.outer(row_totals, observed.sum(axis=0)) / observed.sum()
    deviation = np.abs(observed - expected)
    if dof == 1:
        deviation = deviation - np.minimum(0.5, deviation)
    statistic = float(np.sum(deviation**2 / expected))
    return statistic, float(sps.chi2.sf(statistic, dof))
