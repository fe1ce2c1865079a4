"""The Spark table store's statements, recorded by a stand-in for the run's Spark session.

Local Spark has no Delta Lake or Unity Catalog here, so these tests check the SQL and
writer calls the store makes rather than running them.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from pyspark.sql import Row

from housemon_dagster.databricks.spark_store import SparkTableStore

NAME = "mlops_dev.house_prices.house_features"
QUOTED = "`mlops_dev`.`house_prices`.`house_features`"


class RecordingFrame:
    def __init__(self, spark: RecordingSpark, rows: list[dict[str, Any]]) -> None:
        self.spark = spark
        self.sparkSession = spark
        self.rows = rows
        self.write = self

    def count(self) -> int:
        return len(self.rows)

    def collect(self) -> list[Row]:
        return [Row(**row) for row in self.rows]

    def toArrow(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows)

    def select(self, *columns: str) -> RecordingFrame:
        return RecordingFrame(self.spark, [{c: r[c] for c in columns} for r in self.rows])

    def groupBy(self, *keys: str) -> RecordingGroups:
        return RecordingGroups(self, keys)

    def where(self, condition: str) -> RecordingFrame:
        assert condition == "count > 1"
        return RecordingFrame(self.spark, [r for r in self.rows if r["count"] > 1])

    def limit(self, n: int) -> RecordingFrame:
        return RecordingFrame(self.spark, self.rows[:n])

    def createOrReplaceTempView(self, name: str) -> None:
        self.spark.calls.append(f"view {name}")

    def format(self, name: str) -> RecordingFrame:
        self.spark.calls.append(f"format {name}")
        return self

    def mode(self, name: str) -> RecordingFrame:
        self.spark.calls.append(f"mode {name}")
        return self

    def option(self, key: str, value: str) -> RecordingFrame:
        self.spark.calls.append(f"option {key}={value}")
        return self

    def saveAsTable(self, name: str) -> None:
        self.spark.calls.append(f"saveAsTable {name}")
        self.spark.tables.add(name.replace("`", ""))


class RecordingGroups:
    def __init__(self, frame: RecordingFrame, keys: tuple[str, ...]) -> None:
        self.frame = frame
        self.keys = keys

    def count(self) -> RecordingFrame:
        counts: dict[tuple, int] = {}
        for row in self.frame.rows:
            key = tuple(row[k] for k in self.keys)
            counts[key] = counts.get(key, 0) + 1
        rows = [dict(zip(self.keys, key, strict=True)) | {"count": n} for key, n in counts.items()]
        return RecordingFrame(self.frame.spark, rows)


class RecordingCatalog:
    def __init__(self, spark: RecordingSpark) -> None:
        self.spark = spark

    def tableExists(self, name: str) -> bool:
        return name in self.spark.tables


class RecordingSpark:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.tables: set[str] = set()
        self.catalog = RecordingCatalog(self)

    def sql(self, query: str) -> RecordingFrame:
        self.calls.append(query)
        if query.startswith("DESCRIBE HISTORY"):
            return RecordingFrame(self, [{"version": 4}])
        if query.startswith("MERGE"):
            return RecordingFrame(self, [{"num_inserted_rows": 2, "num_updated_rows": 1}])
        return RecordingFrame(self, [])

    def createDataFrame(self, data: Any) -> RecordingFrame:
        return RecordingFrame(self, data.to_dict("records"))


@pytest.fixture
def spark() -> RecordingSpark:
    return RecordingSpark()


def _features(ids: list[str]):
    import pandas as pd

    return pd.DataFrame({"Id": ids, "OverallQual": [5] * len(ids)})


def test_first_write_enables_change_feed(spark: RecordingSpark) -> None:
    rows = SparkTableStore(spark).write(NAME, _features(["1", "2"]), mode="append")
    assert rows == 2
    assert f"saveAsTable {QUOTED}" in spark.calls
    assert "option mergeSchema=true" in spark.calls
    assert (
        f"ALTER TABLE {QUOTED} SET TBLPROPERTIES (delta.enableChangeDataFeed = true)" in spark.calls
    )


def test_merge_uses_merge_into(spark: RecordingSpark) -> None:
    spark.tables.add(NAME)
    counts = SparkTableStore(spark).merge(NAME, _features(["1", "2", "3"]), keys=["Id"])
    merge = next(call for call in spark.calls if call.startswith("MERGE"))
    assert counts == {"inserted": 2, "updated": 1}
    assert merge.startswith(f"MERGE WITH SCHEMA EVOLUTION INTO {QUOTED} t USING ")
    assert "ON t.`Id` = s.`Id`" in merge


def test_merge_rejects_duplicate_keys(spark: RecordingSpark) -> None:
    with pytest.raises(ValueError, match="duplicate keys"):
        SparkTableStore(spark).merge(NAME, _features(["1", "1"]), keys=["Id"])


def test_version_and_changes(spark: RecordingSpark) -> None:
    spark.tables.add(NAME)
    store = SparkTableStore(spark)
    assert store.version(NAME) == 4
    store.changes_since(NAME, 2)
    assert f"SELECT * FROM table_changes('{NAME}', 3)" in spark.calls


def test_missing_table_has_no_version(spark: RecordingSpark) -> None:
    assert SparkTableStore(spark).version(NAME) is None
