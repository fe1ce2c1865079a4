"""Per-window summaries of the metric tables: what a user checks first."""

from __future__ import annotations

from typing import Any

import pandas as pd

from housemon_dagster.core.schema import NUMERIC_FEATURES
from housemon_dagster.core.tables import TableStore

DRIFT_P_VALUE = 0.01
WATCHED_FEATURES = ("OverallQual", "GrLivArea")


def _window_start(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["window"].map(lambda w: w["start"]), utc=True)


def quality_by_window(
    store: TableStore, profile_table: str, drift_table: str, *, granularity: str | None = None
) -> list[dict[str, Any]]:
    """Return one dict per window: rows, labelled rows, MAE and baseline drift of features.

    ``flagged_features`` counts numeric features whose BASELINE KS test gives
    p < 0.01 in that window.
    """
    profile = store.read_arrow(profile_table).to_pandas()
    if profile.empty:
        return []
    granularity = granularity or profile["granularity"].iloc[0]
    whole = profile[
        (profile["granularity"] == granularity)
        & (profile["log_type"] == "INPUT")
        & profile["slice_key"].isna()
    ].copy()
    whole["start"] = _window_start(whole)
    table_rows = whole[whole["column_name"] == ":table"].set_index("start").sort_index()
    labels = whole[whole["column_name"] == "sale_price"].set_index("start")

    drift = store.read_arrow(drift_table).to_pandas() if store.exists(drift_table) else None
    baseline_p: dict[tuple[Any, str], float] = {}
    if drift is not None and not drift.empty:
        drift = drift[
            (drift["granularity"] == granularity)
            & (drift["drift_type"] == "BASELINE")
            & drift["slice_key"].isna()
            & drift["column_name"].isin(NUMERIC_FEATURES)
        ].copy()
        drift["start"] = _window_start(drift)
        for row in drift.itertuples():
            test = row.ks_test
            if test is not None and test.get("pvalue") is not None:
                baseline_p[(row.start, row.column_name)] = float(test["pvalue"])

    summary = []
    for start, row in table_rows.iterrows():
        labelled = None
        if start in labels.index:
            label_row = labels.loc[[start]].iloc[0]
            labelled = int(label_row["count"] - label_row["num_nulls"])
        p_values = {f: baseline_p.get((start, f)) for f in NUMERIC_FEATURES}
        entry = {
            "window_start": start.isoformat(),
            "rows": int(row["count"]),
            "labelled": labelled,
            "mae": None if pd.isna(row["mean_average_error"]) else float(row["mean_average_error"]),
        }
        for feature in WATCHED_FEATURES:
            entry[f"ks_p_{feature}"] = p_values.get(feature)
        entry["flagged_features"] = sum(
            1 for p in p_values.values() if p is not None and p < DRIFT_P_VALUE
        )
        summary.append(entry)
    return summary
