"""Drift statistics against scipy and against their written definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial import distance

from housemon_dagster.monitor import stats

TOLERANCE = 1e-9


def _samples(seed: int, sizes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    current = np.sort(rng.normal(0.3, 1.2, sizes[0]))
    comparison = np.sort(rng.normal(0.0, 1.0, sizes[1]))
    return current, comparison


SIZES = [(5, 7), (200, 150), (1_000, 1_000), (3_000, 9_000), (12_000, 11_000), (40_000, 500)]


def _scipy_ks(current: np.ndarray, comparison: np.ndarray):
    """Return scipy's KS result with the method the monitor documents for these sizes."""
    method = "exact" if current.size * comparison.size <= 1_000_000 else "asymp"
    return sps.ks_2samp(current, comparison, method=method)


@pytest.mark.parametrize("sizes", SIZES)
def test_ks_matches_scipy(sizes: tuple[int, int]) -> None:
    current, comparison = _samples(sum(sizes), sizes)
    expected = _scipy_ks(current, comparison)
    statistic, pvalue = stats.ks_test(current, comparison)
    assert statistic == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert pvalue == pytest.approx(expected.pvalue, abs=TOLERANCE)


@pytest.mark.parametrize("sizes", SIZES)
def test_merged_ks_and_wasserstein_match_scipy(sizes: tuple[int, int]) -> None:
    current, comparison = _samples(sum(sizes) + 1, sizes)
    (statistic, pvalue), wasserstein = stats.ks_and_wasserstein(current, comparison)
    expected = _scipy_ks(current, comparison)
    assert statistic == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert pvalue == pytest.approx(expected.pvalue, abs=TOLERANCE)
    assert wasserstein == pytest.approx(
        sps.wasserstein_distance(current, comparison), rel=TOLERANCE
    )


def test_ks_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    current = np.sort(rng.integers(0, 5, 300).astype(float))
    comparison = np.sort(rng.integers(1, 6, 20_000).astype(float))
    expected = _scipy_ks(current, comparison)
    (statistic, pvalue), _ = stats.ks_and_wasserstein(current, comparison)
    assert statistic == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert pvalue == pytest.approx(expected.pvalue, abs=TOLERANCE)


@pytest.mark.parametrize("sizes", SIZES)
def test_wasserstein_matches_scipy(sizes: tuple[int, int]) -> None:
    current, comparison = _samples(sum(sizes) + 2, sizes)
    expected = sps.wasserstein_distance(current, comparison)
    assert stats.wasserstein(current, comparison) == pytest.approx(expected, rel=TOLERANCE)


def test_wasserstein_keeps_raw_units() -> None:
    current = np.array([100_000.0, 200_000.0])
    comparison = np.array([110_000.0, 210_000.0])
    assert stats.wasserstein(current, comparison) == pytest.approx(10_000.0)


def _psi_by_definition(current: np.ndarray, comparison: np.ndarray) -> float:
    edges = np.unique(np.quantile(comparison, np.arange(1, 10) / 10))
    bins = edges.size + 1
    shares = []
    for sample in (current, comparison):
        counts = np.array(
            [
                np.sum(
                    (sample >= (edges[i - 1] if i > 0 else -np.inf))
                    & (sample < (edges[i] if i < edges.size else np.inf))
                )
                for i in range(bins)
            ]
        )
        share = counts / counts.sum()
        shares.append((share + 1e-4) / (1 + bins * 1e-4))
    p, q = shares
    return float(np.sum((p - q) * np.log(p / q)))


@pytest.mark.parametrize("sizes", SIZES)
def test_psi_matches_definition(sizes: tuple[int, int]) -> None:
    current, comparison = _samples(sum(sizes) + 3, sizes)
    expected = _psi_by_definition(current, comparison)
    assert stats.population_stability_index(current, comparison) == pytest.approx(expected)


def test_psi_of_identical_samples_is_zero() -> None:
    current, _ = _samples(4, (1000, 10))
    assert stats.population_stability_index(current, current) == pytest.approx(0.0, abs=1e-12)


def test_psi_with_constant_comparison_is_finite() -> None:
    current = np.sort(np.random.default_rng(5).normal(size=100))
    value = stats.population_stability_index(current, np.full(50, 0.5))
    assert np.isfinite(value)


def _counts(seed: int, categories: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    current = rng.integers(0, 500, categories)
    comparison = rng.integers(0, 500, categories)
    return current, comparison


@pytest.mark.parametrize("categories", [2, 3, 10, 60])
def test_chi_squared_matches_scipy(categories: int) -> None:
    current, comparison = _counts(categories, categories)
    expected = sps.chi2_contingency(np.vstack([current, comparison]))
    statistic, pvalue = stats.chi_squared_test(current, comparison)
    assert statistic == pytest.approx(expected.statistic, rel=TOLERANCE)
    assert pvalue == pytest.approx(expected.pvalue, abs=TOLERANCE)


def test_chi_squared_with_one_sided_categories_matches_scipy() -> None:
    current = np.array([30, 0, 12, 7])
    comparison = np.array([25, 40, 0, 9])
    expected = sps.chi2_contingency(np.vstack([current, comparison]))
    statistic, pvalue = stats.chi_squared_test(current, comparison)
    assert statistic == pytest.approx(expected.statistic, rel=TOLERANCE)
    assert pvalue == pytest.approx(expected.pvalue, abs=TOLERANCE)


def test_chi_squared_with_very_large_counts_matches_scipy() -> None:
    current = np.array([4_000_000_000, 3_000_000_001, 12])
    comparison = np.array([4_000_000_100, 2_999_999_000, 15])
    expected = sps.chi2_contingency(np.vstack([current, comparison]))
    statistic, pvalue = stats.chi_squared_test(current, comparison)
    assert statistic == pytest.approx(expected.statistic, rel=1e-6)
    assert pvalue == pytest.approx(expected.pvalue, abs=TOLERANCE)


def test_chi_squared_with_one_category_is_zero() -> None:
    assert stats.chi_squared_test(np.array([5]), np.array([9])) == (0.0, 1.0)


def test_chi_squared_with_empty_side_is_null() -> None:
    assert stats.chi_squared_test(np.array([0, 0]), np.array([3, 4])) == (None, None)


@pytest.mark.parametrize("categories", [1, 2, 7, 40])
def test_js_distance_matches_definition(categories: int) -> None:
    current, comparison = _counts(100 + categories, categories)
    current[0] += 1
    comparison[0] += 1
    p, q = current / current.sum(), comparison / comparison.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        return sum(x * np.log2(x / y) for x, y in zip(a, m) if x > 0)

    expected = np.sqrt((kl(p) + kl(q)) / 2)
    assert stats.js_distance(current, comparison) == pytest.approx(expected, abs=1e-12)


def test_js_distance_matches_scipy_base_two() -> None:
    current, comparison = _counts(7, 12)
    expected = distance.jensenshannon(current, comparison, base=2)
    assert stats.js_distance(current, comparison) == pytest.approx(expected, abs=1e-12)


def test_js_distance_of_disjoint_categories_is_one() -> None:
    assert stats.js_distance(np.array([5, 0]), np.array([0, 8])) == pytest.approx(1.0)


def test_tv_and_l_infinity_distances() -> None:
    current = np.array([1, 1, 2])
    comparison = np.array([2, 0, 2])
    assert stats.tv_distance(current, comparison) == pytest.approx(0.25)
    assert stats.l_infinity_distance(current, comparison) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "function",
    [stats.js_distance, stats.tv_distance, stats.l_infinity_distance],
)
def test_categorical_distance_of_empty_side_is_null(function) -> None:
    assert function(np.array([0, 0]), np.array([1, 2])) is None


@pytest.mark.parametrize("function", [stats.wasserstein, stats.population_stability_index])
def test_numeric_statistic_of_empty_side_is_null(function) -> None:
    assert function(np.array([]), np.array([1.0, 2.0])) is None


def test_ks_of_empty_side_is_null() -> None:
    assert stats.ks_test(np.array([1.0]), np.array([])) == (None, None)


def test_statistics_of_single_values() -> None:
    (statistic, pvalue), distance_value = stats.ks_and_wasserstein(np.array([1.0]), np.array([3.0]))
    assert statistic == pytest.approx(1.0)
    assert pvalue == pytest.approx(sps.ks_2samp([1.0], [3.0], method="exact").pvalue)
    assert distance_value == pytest.approx(2.0)


def test_statistics_of_identical_constants() -> None:
    constant = np.full(50, 4.0)
    (statistic, pvalue), distance_value = stats.ks_and_wasserstein(constant, constant)
    assert statistic == 0.0
    assert pvalue == pytest.approx(1.0)
    assert distance_value == 0.0


def test_wasserstein_of_very_large_values_matches_scipy() -> None:
    current = np.sort(np.random.default_rng(8).normal(1e150, 1e149, 500))
    comparison = np.sort(np.random.default_rng(9).normal(1.1e150, 1e149, 400))
    expected = sps.wasserstein_distance(current, comparison)
    assert stats.wasserstein(current, comparison) == pytest.approx(expected, rel=1e-9)
