import pandas as pd
import pytest

from housemon_dagster.core.tables import TableNotFoundError

NAME = "c.s.t"


def test_merge_upserts_without_duplicates(store):
    store.write(NAME, pd.DataFrame({"Id": ["1", "2"], "x": [1, 2]}), mode="append")
    counts = store.merge(NAME, pd.DataFrame({"Id": ["2", "3"], "x": [20, 3]}), keys=["Id"])
    table = store.read_pandas(NAME).sort_values("Id")
    assert counts == {"inserted": 1, "updated": 1}
    assert table["Id"].tolist() == ["1", "2", "3"]
    assert table["x"].tolist() == [1, 20, 3]


def test_merge_rejects_duplicate_source_keys(store):
    with pytest.raises(ValueError, match="duplicate keys"):
        store.merge(NAME, pd.DataFrame({"Id": ["1", "1"], "x": [1, 2]}), keys=["Id"])


def test_missing_table_names_table(store):
    with pytest.raises(TableNotFoundError, match="c.s.absent does not exist"):
        store.read_arrow("c.s.absent")


def test_changes_since_returns_new_commits(store):
    store.write(NAME, pd.DataFrame({"Id": ["1"], "x": [1]}), mode="append")
    store.write(NAME, pd.DataFrame({"Id": ["2"], "x": [2]}), mode="append")
    changes = store.changes_since(NAME, 0).to_pandas()
    assert changes["Id"].tolist() == ["2"]
    assert store.changes_since(NAME, 1).num_rows == 0


def test_timestamps_are_stored_in_utc(store):
    naive = pd.DataFrame({"t": pd.to_datetime(["2026-01-01 10:00"])})
    store.write(NAME, naive, mode="overwrite")
    assert str(store.read_arrow(NAME).schema.field("t").type) == "timestamp[us, tz=UTC]"


def test_bad_name_is_rejected(store):
    with pytest.raises(ValueError, match="<catalog>.<schema>.<table>"):
        store.path("just_a_table")
