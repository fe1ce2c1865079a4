import numpy as np
import pytest
from scipy.stats import ks_2samp

from housemon_dagster.core.schema import NUMERIC_FEATURES
from housemon_dagster.core.synthetic import (
    InferenceSetConfig,
    build_inference_sets,
    first_free_id,
    skew,
)


@pytest.fixture(scope="module")
def sets(ames_split):
    train, _ = ames_split
    config = InferenceSetConfig(normal_rows=1000, skewed_rows=1000)
    normal, skewed = build_inference_sets(train, config=config, first_id=5000, generation="g")
    return train, normal, skewed


def test_normal_set_follows_training_distribution(sets):
    train, normal, _ = sets
    flagged = [f for f in NUMERIC_FEATURES if ks_2samp(train[f], normal[f]).pvalue < 0.01]
    assert flagged == []


def test_skewed_set_drifts_chosen_features(sets):
    train, _, skewed = sets
    for feature in ("OverallQual", "GrLivArea"):
        assert ks_2samp(train[feature], skewed[feature]).pvalue < 1e-6
    assert skewed["GrLivArea"].mean() > 1.8 * train["GrLivArea"].mean()


def test_skewed_quality_stays_on_its_scale(sets):
    _, _, skewed = sets
    assert skewed["OverallQual"].between(1, 10).all()


def test_labels_stay_with_their_rows(sets):
    train, normal, _ = sets
    by_features = train.set_index(["LotArea", "YearBuilt", "Neighborhood", "GrLivArea"])["SalePrice"]
    keys = list(zip(normal["LotArea"], normal["YearBuilt"], normal["Neighborhood"], normal["GrLivArea"]))
    for key, price in list(zip(keys, normal["SalePrice"]))[:50]:
        assert price in np.atleast_1d(by_features.loc[key]).tolist()


def test_ids_are_new_and_unique(sets):
    train, normal, skewed = sets
    ids = normal["Id"].tolist() + skewed["Id"].tolist()
    assert len(set(ids)) == len(ids)
    assert min(int(i) for i in ids) == 5000
    assert set(ids).isdisjoint(train["Id"])


def test_same_seed_same_sets(ames_split):
    train, _ = ames_split
    config = InferenceSetConfig(normal_rows=20, skewed_rows=20)
    first = build_inference_sets(train, config=config, first_id=1, generation="g")
    second = build_inference_sets(train, config=config, first_id=1, generation="g")
    assert first[1].drop(columns="update_timestamp_utc").equals(
        second[1].drop(columns="update_timestamp_utc")
    )


def test_first_free_id_skips_non_numeric():
    import pandas as pd

    assert first_free_id(pd.Series(["3", "17", "x-9"])) == 18


@pytest.mark.parametrize(
    ("factors", "message"),
    [({"Neighborhood": 2.0}, "not a numeric feature"), ({"GrLivArea": -1.0}, "positive number")],
)
def test_bad_skew_config_is_rejected(factors, message):
    with pytest.raises(ValueError, match=message):
        InferenceSetConfig(skew_factors=factors).validate()


def test_skew_keeps_integer_type(ames_split):
    train, _ = ames_split
    skewed = skew(train.head(10), {"GrLivArea": 1.5})
    assert skewed["GrLivArea"].dtype == train["GrLivArea"].dtype
