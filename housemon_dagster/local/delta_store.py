"""Delta tables on disk, written by delta-rs, laid out like Unity Catalog.

``<catalog>.<schema>.<table>`` lives at ``<warehouse>/<catalog>/<schema>/<table>``.
Every table is created with Change Data Feed on, so readers can ask what changed
since a version.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError as DeltaNotFound

from housemon_dagster.core.tables import TableNotFoundError, WriteMode, split_name

log = logging.getLogger(__name__)

TABLE_CONFIGURATION = {"delta.enableChangeDataFeed": "true"}


def to_arrow(data: Any) -> pa.Table:
    """Convert pandas, Spark or Arrow data to an Arrow table with UTC timestamps."""
    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pd.DataFrame):
        table = pa.Table.from_pandas(data, preserve_index=False)
    elif hasattr(data, "toArrow"):
        table = data.toArrow()
    else:
        raise TypeError(f"cannot write a {type(data).__name__}; pass Arrow, pandas or Spark data")
    return normalize_arrow(table)


def normalize_arrow(table: pa.Table) -> pa.Table:
    """Store timestamps as microseconds in UTC and nulls as strings, as Delta expects."""
    fields = []
    for column in table.schema:
        kind = column.type
        if pa.types.is_timestamp(kind):
            kind = pa.timestamp("us", tz="UTC")
        elif pa.types.is_null(kind):
            kind = pa.string()
        elif pa.types.is_large_string(kind):
            kind = pa.string()
        fields.append(pa.field(column.name, kind, nullable=True))
    return table.cast(pa.schema(fields))


class DeltaTableStore:
    """A ``TableStore`` over Delta tables in a local folder."""

    def __init__(self, warehouse: str | Path) -> None:
        self.warehouse = Path(warehouse)

    def path(self, name: str) -> Path:
        catalog, schema, table = split_name(name)
        return self.warehouse / catalog / schema / table

    def exists(self, name: str) -> bool:
        return DeltaTable.is_deltatable(str(self.path(name)))

    def table(self, name: str) -> DeltaTable:
        try:
            return DeltaTable(str(self.path(name)))
        except DeltaNotFound as error:
            raise TableNotFoundError(
                name, hint="materialize the asset that writes it first"
            ) from error

    def version(self, name: str) -> int | None:
        return self.table(name).version() if self.exists(name) else None

    def read_arrow(self, name: str, *, columns: list[str] | None = None) -> pa.Table:
        return self.table(name).to_pyarrow_table(columns=columns)

    def read_pandas(self, name: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        return self.read_arrow(name, columns=columns).to_pandas()

    def read_spark(self, spark: Any, name: str) -> Any:
        """Read the table's current files with Spark (no Delta jars are needed)."""
        delta = self.table(name)
        files = delta.file_uris()
        if not files or _has_deletion_vectors(delta):
            return spark.createDataFrame(delta.to_pyarrow_table())
        return spark.read.option("mergeSchema", "true").parquet(*files)

    def write(
        self, name: str, data: Any, *, mode: WriteMode, description: str | None = None
    ) -> int:
        """Append or overwrite; return the number of rows written."""
        table = to_arrow(data)
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        schema_mode = "overwrite" if mode == "overwrite" else "merge"
        write_deltalake(
            str(path),
            table,
            mode=mode,
            schema_mode=schema_mode,
            description=description,
            configuration=TABLE_CONFIGURATION,
        )
        log.debug("Wrote %d rows to %s (%s)", table.num_rows, name, mode)
        return table.num_rows

    def merge(self, name: str, data: Any, *, keys: list[str]) -> dict[str, int]:
        """Upsert on ``keys``: update matching rows, insert the rest.

        Duplicate keys in ``data`` are rejected, because a merge would apply them in
        no defined order.
        """
        source = to_arrow(data)
        duplicated = _duplicated_keys(source, keys)
        if duplicated:
            raise ValueError(
                f"merge into {name} got duplicate keys {keys} such as {duplicated[:5]}; "
                "deduplicate the source first"
            )
        if not self.exists(name):
            self.write(name, source, mode="append")
            return {"inserted": source.num_rows, "updated": 0}
        predicate = " AND ".join(f"t.`{key}` = s.`{key}`" for key in keys)
        metrics = (
            self.table(name)
            .merge(source, predicate, source_alias="s", target_alias="t", merge_schema=True)
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        return {
            "inserted": int(metrics.get("num_target_rows_inserted", 0)),
            "updated": int(metrics.get("num_target_rows_updated", 0)),
        }

    def changes_since(self, name: str, version: int) -> pa.Table:
        """Return the Change Data Feed rows of commits after ``version``."""
        delta = self.table(name)
        if delta.version() <= version:
            return delta.to_pyarrow_table().slice(0, 0)
        return pa.RecordBatchReader.from_stream(delta.load_cdf(starting_version=version + 1)).read_all()


def _has_deletion_vectors(delta: DeltaTable) -> bool:
    """Tell whether some file has deleted rows that a plain Parquet read would resurrect."""
    features = delta.protocol().writer_features or []
    if "deletionVectors" not in features:
        return False
    return pa.RecordBatchReader.from_stream(delta.deletion_vectors()).read_all().num_rows > 0


def _duplicated_keys(table: pa.Table, keys: list[str]) -> list[Any]:
    if table.num_rows == 0:
        return []
    counts = table.group_by(keys).aggregate([([], "count_all")])
    duplicates = counts.filter(pc.greater(counts["count_all"], 1))
    return duplicates.select(keys).to_pylist()
