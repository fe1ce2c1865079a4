"""Tables inside Databricks runs: Unity Catalog tables through the run's Spark session."""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from housemon_dagster.core.tables import WriteMode, split_name
from housemon_dagster.databricks.sql import quote_name

log = logging.getLogger(__name__)


class SparkTableStore:
    """A ``TableStore`` over Delta tables in Unity Catalog, for code inside Databricks runs.

    New tables get Change Data Feed on, so ``changes_since`` can use ``table_changes``.
    """

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def exists(self, name: str) -> bool:
        split_name(name)
        return bool(self.spark.catalog.tableExists(name))

    def version(self, name: str) -> int | None:
        if not self.exists(name):
            return None
        history = self.spark.sql(f"DESCRIBE HISTORY {quote_name(name)} LIMIT 1").collect()
        return int(history[0]["version"]) if history else None

    def read_arrow(self, name: str, *, columns: list[str] | None = None) -> pa.Table:
        frame = self.read_spark(self.spark, name)
        if columns:
            frame = frame.select(*columns)
        return frame.toArrow()

    def read_spark(self, spark: Any, name: str) -> Any:
        return spark.table(quote_name(name))

    def _frame(self, data: Any) -> Any:
        if hasattr(data, "sparkSession"):
            return data
        return self.spark.createDataFrame(data)

    def write(
        self, name: str, data: Any, *, mode: WriteMode, description: str | None = None
    ) -> int:
        """Append or overwrite with ``saveAsTable``; return the number of rows written."""
        frame = self._frame(data)
        rows = frame.count()
        created = mode == "overwrite" or not self.exists(name)
        schema_option = "overwriteSchema" if mode == "overwrite" else "mergeSchema"
        frame.write.format("delta").mode(mode).option(schema_option, "true").saveAsTable(
            quote_name(name)
        )
        if created:
            self.spark.sql(
                f"ALTER TABLE {quote_name(name)} "
                "SET TBLPROPERTIES (delta.enableChangeDataFeed = true)"
            )
        if description:
            self.spark.sql(f"COMMENT ON TABLE {quote_name(name)} IS '{_literal(description)}'")
        log.info("Wrote %d rows to %s (%s)", rows, name, mode)
        return rows

    def merge(self, name: str, data: Any, *, keys: list[str]) -> dict[str, int]:
        """Upsert on ``keys`` with ``MERGE INTO``; duplicate source keys are rejected."""
        frame = self._frame(data)
        duplicates = frame.groupBy(*keys).count().where("count > 1").limit(5).collect()
        if duplicates:
            sample = [tuple(row[k] for k in keys) for row in duplicates]
            raise ValueError(
                f"merge into {name} got duplicate keys {keys} such as {sample}; "
                "deduplicate the source first"
            )
        if not self.exists(name):
            rows = self.write(name, frame, mode="append")
            return {"inserted": rows, "updated": 0}
        view = f"housemon_merge_source_{split_name(name)[2].replace('-', '_')}"
        frame.createOrReplaceTempView(view)
        condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        result = self.spark.sql(
            f"MERGE WITH SCHEMA EVOLUTION INTO {quote_name(name)} t USING {view} s "
            f"ON {condition} WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        ).collect()
        counts = result[0].asDict() if result else {}
        return {
            "inserted": int(counts.get("num_inserted_rows") or 0),
            "updated": int(counts.get("num_updated_rows") or 0),
        }

    def changes_since(self, name: str, version: int) -> pa.Table:
        """Return the Change Data Feed rows of commits after ``version``."""
        current = self.version(name)
        if current is None or current <= version:
            return self.read_arrow(name).slice(0, 0)
        query = f"SELECT * FROM table_changes('{_literal(name)}', {int(version) + 1})"
        return self.spark.sql(query).toArrow()


def _literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")
