"""Column names of the house-price data, as the Kaggle competition spells them."""

from __future__ import annotations

ID_COLUMN = "Id"
TARGET_COLUMN = "SalePrice"
TIMESTAMP_COLUMN = "update_timestamp_utc"

NUMERIC_FEATURES = [
    "LotFrontage",
    "LotArea",
    "OverallQual",
    "OverallCond",
    "YearBuilt",
    "YearRemodAdd",
    "MasVnrArea",
    "TotalBsmtSF",
    "GrLivArea",
    "GarageCars",
]

CATEGORICAL_FEATURES = [
    "MSZoning",
    "Street",
    "Alley",
    "LotShape",
    "LandContour",
    "Neighborhood",
    "Condition1",
    "BldgType",
    "HouseStyle",
    "RoofStyle",
    "Exterior1st",
    "Exterior2nd",
    "MasVnrType",
    "Foundation",
    "Heating",
    "CentralAir",
    "SaleType",
    "SaleCondition",
]

# Columns served from the feature table by Id instead of being sent in requests.
LOOKUP_FEATURES = ["OverallQual", "GrLivArea", "GarageCars"]

# Columns a scoring request carries: the Id and the 25 features that are not looked up.
REQUEST_FEATURES = [c for c in NUMERIC_FEATURES if c not in LOOKUP_FEATURES] + CATEGORICAL_FEATURES

# Numeric columns stored as doubles; the other numeric features are whole numbers.
FRACTIONAL_FEATURES = ["LotFrontage", "MasVnrArea"]

SOURCE_COLUMNS = [ID_COLUMN, *NUMERIC_FEATURES, *CATEGORICAL_FEATURES, TARGET_COLUMN]
