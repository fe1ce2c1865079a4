"""Tables for the orchestrating process: SQL statements on a SQL warehouse.

Reads and small writes go through the Statement Execution API, with JSON_ARRAY results
of INLINE disposition fetched chunk by chunk. Existence comes from the Unity Catalog
tables API and versions come from ``DESCRIBE HISTORY``. Bulk work belongs in Spark tasks.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pandas as pd
import pyarrow as pa
from databricks.sdk.service.sql import (
    Disposition,
    Format,
    StatementParameterListItem,
    StatementResponse,
    StatementState,
)

from housemon_dagster.core.tables import TableNotFoundError, WriteMode, split_name
from housemon_dagster.databricks.errors import DatabricksPermissionError, DatabricksPlatformError
from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster.local.delta_store import to_arrow

log = logging.getLogger(__name__)

TERMINAL_STATES = (
    StatementState.SUCCEEDED,
    StatementState.FAILED,
    StatementState.CANCELED,
    StatementState.CLOSED,
)
# Rows per INSERT statement; each value is a named parameter.
INSERT_BATCH_ROWS = 20
MAX_WRITE_ROWS = 10_000
SPARK_TYPES = {
    pa.string(): "STRING",
    pa.float64(): "DOUBLE",
    pa.float32(): "FLOAT",
    pa.int64(): "BIGINT",
    pa.int32(): "INT",
    pa.int16(): "SMALLINT",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP",
    pa.date32(): "DATE",
}


def quote_name(name: str) -> str:
    """Quote each part of a three-part name, so names such as ``a-b_payload`` parse."""
    return ".".join(f"`{part.replace('`', '``')}`" for part in split_name(name))


class StatementError(DatabricksPlatformError):
    """Raised when a statement ends FAILED, CANCELED or CLOSED, or times out."""


class StatementRunner:
    """Executes SQL on one warehouse and returns the result as Arrow."""

    def __init__(
        self,
        workspace: DatabricksWorkspace,
        *,
        poll_seconds: float = 1.0,
        timeout_seconds: float = 900,
    ) -> None:
        self.workspace = workspace
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    def execute(
        self,
        statement: str,
        *,
        parameters: list[StatementParameterListItem] | None = None,
        target: str = "SQL warehouse",
        privilege: str = "SELECT",
    ) -> pa.Table:
        """Run ``statement`` and return its rows; ``privilege`` is what it needs on ``target``."""
        warehouse = self.workspace.resolved_warehouse_id()
        needed = f"{privilege} (and CAN USE on SQL warehouse {warehouse})"
        api = self.workspace.client().statement_execution
        response = self.workspace.call(
            api.execute_statement,
            statement=statement,
            warehouse_id=warehouse,
            parameters=parameters or None,
            disposition=Disposition.INLINE,
            format=Format.JSON_ARRAY,
            wait_timeout="30s",
            target=target,
            privilege=needed,
        )
        response = self._wait(response, target, needed)
        return self._collect(response, target)

    def _wait(self, response: StatementResponse, target: str, needed: str) -> StatementResponse:
        api = self.workspace.client().statement_execution
        deadline = time.monotonic() + self.timeout_seconds
        while response.status is None or response.status.state not in TERMINAL_STATES:
            if time.monotonic() > deadline:
                api.cancel_execution(response.statement_id)
                raise StatementError(
                    f"statement {response.statement_id} on {target} timed out after "
                    f"{self.timeout_seconds:.0f} s and was canceled"
                )
            time.sleep(self.poll_seconds)
            response = self.workspace.call(
                api.get_statement, response.statement_id, target=target, privilege=needed
            )
        if response.status.state != StatementState.SUCCEEDED:
            error = response.status.error
            detail = error.message if error and error.message else "no error message"
            code = error.error_code.value if error and error.error_code else "UNKNOWN"
            if "TABLE_OR_VIEW_NOT_FOUND" in detail:
                raise TableNotFoundError(target, hint=detail)
            if "PERMISSION_DENIED" in detail or "INSUFFICIENT_PERMISSIONS" in detail:
                # A warehouse reports missing table privileges in the statement status,
                # not as HTTP 403.
                raise DatabricksPermissionError(
                    principal=self.workspace.principal(),
                    privilege=needed,
                    target=target,
                    detail=detail,
                )
            raise StatementError(
                f"statement {response.statement_id} on {target} ended "
                f"{response.status.state.value} ({code}): {detail}"
            )
        return response

    def _collect(self, response: StatementResponse, target: str) -> pa.Table:
        columns = (
            response.manifest.schema.columns
            if response.manifest and response.manifest.schema
            else []
        )
        rows: list[list[Any]] = []
        chunk = response.result
        api = self.workspace.client().statement_execution
        while chunk is not None:
            rows.extend(chunk.data_array or [])
            if chunk.next_chunk_index is None:
                break
            chunk = self.workspace.call(
                api.get_statement_result_chunk_n,
                response.statement_id,
                chunk.next_chunk_index,
                target=target,
                privilege="SELECT",
            )
        return rows_to_arrow(columns, rows)


def _convert(type_name: str, value: str | None) -> Any:
    if value is None:
        return None
    if type_name in ("BYTE", "SHORT", "INT", "LONG"):
        return int(value)
    if type_name in ("FLOAT", "DOUBLE", "DECIMAL"):
        return float(value)
    if type_name == "BOOLEAN":
        return value.lower() == "true"
    if type_name in ("TIMESTAMP", "TIMESTAMP_NTZ"):
        stamp = pd.Timestamp(value)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if type_name == "DATE":
        return pd.Timestamp(value).date()
    if type_name in ("ARRAY", "STRUCT", "MAP"):
        return json.loads(value)
    return value


ARROW_TYPES = {
    "BYTE": pa.int8(),
    "SHORT": pa.int16(),
    "INT": pa.int32(),
    "LONG": pa.int64(),
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "DECIMAL": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "STRING": pa.string(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "TIMESTAMP_NTZ": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
}


def rows_to_arrow(columns: list[Any], rows: list[list[Any]]) -> pa.Table:
    """Build an Arrow table from JSON_ARRAY rows, typed by the result manifest.

    Complex values (ARRAY, STRUCT, MAP) arrive as JSON text and are parsed, with
    Arrow inferring their type; nested timestamps stay ISO 8601 strings.
    """
    arrays = {}
    for position, column in enumerate(columns):
        type_name = column.type_name.value if column.type_name else "STRING"
        values = [_convert(type_name, row[position]) for row in rows]
        kind = ARROW_TYPES.get(type_name)
        arrays[column.name] = pa.array(values, type=kind) if kind else pa.array(values)
    return pa.table(arrays) if arrays else pa.table({})


class WarehouseTableStore:
    """A ``TableStore`` over Unity Catalog tables, through a SQL warehouse."""

    def __init__(
        self, workspace: DatabricksWorkspace, runner: StatementRunner | None = None
    ) -> None:
        self.workspace = workspace
        self.runner = runner or StatementRunner(workspace)

    def exists(self, name: str) -> bool:
        split_name(name)
        try:
            self.workspace.call(
                self.workspace.client().tables.get,
                name,
                target=f"table {name}",
                privilege="USE CATALOG, USE SCHEMA and SELECT",
            )
        except LookupError:
            return False
        return True

    def version(self, name: str) -> int | None:
        if not self.exists(name):
            return None
        history = self.runner.execute(
            f"DESCRIBE HISTORY {quote_name(name)} LIMIT 1", target=f"table {name}"
        )
        return int(history.column("version")[0].as_py()) if history.num_rows else None

    def read_arrow(self, name: str, *, columns: list[str] | None = None) -> pa.Table:
        selected = ", ".join(f"`{c}`" for c in columns) if columns else "*"
        return self.runner.execute(
            f"SELECT {selected} FROM {quote_name(name)}", target=f"table {name}"
        )

    def read_spark(self, spark: Any, name: str) -> Any:
        return spark.table(quote_name(name))

    def write(
        self, name: str, data: Any, *, mode: WriteMode, description: str | None = None
    ) -> int:
        """Create the table if needed (Change Data Feed on), then insert the rows."""
        table = to_arrow(data)
        if table.num_rows > MAX_WRITE_ROWS:
            raise ValueError(
                f"writing {table.num_rows} rows to {name} through a SQL warehouse is too slow; "
                f"write more than {MAX_WRITE_ROWS} rows from a Spark task instead"
            )
        columns = ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in table.schema)
        verb = "CREATE OR REPLACE TABLE" if mode == "overwrite" else "CREATE TABLE IF NOT EXISTS"
        comment = f" COMMENT '{_literal(description)}'" if description else ""
        self.runner.execute(
            f"{verb} {quote_name(name)} ({columns}){comment} "
            "TBLPROPERTIES (delta.enableChangeDataFeed = true)",
            target=f"table {name}",
            privilege="CREATE TABLE on its schema and MODIFY",
        )
        for start in range(0, table.num_rows, INSERT_BATCH_ROWS):
            self._insert(name, table.slice(start, INSERT_BATCH_ROWS))
        log.info("Wrote %d rows to %s (%s)", table.num_rows, name, mode)
        return table.num_rows

    def _insert(self, name: str, batch: pa.Table) -> None:
        parameters: list[StatementParameterListItem] = []
        rows = []
        for row_number, row in enumerate(batch.to_pylist()):
            cells = []
            for field in batch.schema:
                key = f"p{row_number}_{len(cells)}"
                kind = spark_type(field.type)
                parameters.append(_parameter(key, row[field.name]))
                cells.append(f"CAST(:{key} AS {kind})")
            rows.append("(" + ", ".join(cells) + ")")
        names = ", ".join(f"`{f.name}`" for f in batch.schema)
        self.runner.execute(
            f"INSERT INTO {quote_name(name)} ({names}) VALUES {', '.join(rows)}",
            parameters=parameters,
            target=f"table {name}",
            privilege="MODIFY",
        )

    def merge(self, name: str, data: Any, *, keys: list[str]) -> dict[str, int]:
        """Upsert through a staging table and ``MERGE INTO``; return Databricks' row counts."""
        staging = f"{name}__housemon_staging"
        self.write(staging, data, mode="overwrite")
        condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        # NOTE: runs only on Databricks SQL; the warehouse returns the counts in one row.
        result = self.runner.execute(
            f"MERGE INTO {quote_name(name)} t USING {quote_name(staging)} s ON {condition} "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
            target=f"table {name}",
            privilege="MODIFY",
        )
        self.runner.execute(
            f"DROP TABLE IF EXISTS {quote_name(staging)}",
            target=f"table {staging}",
            privilege="MANAGE (or ownership)",
        )
        counts = result.to_pylist()[0] if result.num_rows else {}
        return {
            "inserted": int(counts.get("num_inserted_rows") or 0),
            "updated": int(counts.get("num_updated_rows") or 0),
        }

    def changes_since(self, name: str, version: int) -> pa.Table:
        """Return Change Data Feed rows of commits after ``version`` via ``table_changes``."""
        current = self.version(name)
        if current is None:
            raise TableNotFoundError(name, hint="materialize the asset that writes it first")
        if current <= version:
            return self.read_arrow(name).slice(0, 0)
        return self.runner.execute(
            f"SELECT * FROM table_changes('{_literal(name)}', {int(version) + 1})",
            target=f"table {name}",
        )


def spark_type(kind: pa.DataType) -> str:
    if kind in SPARK_TYPES:
        return SPARK_TYPES[kind]
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    raise TypeError(f"column type {kind} cannot be written through SQL; write it from a Spark task")


def _parameter(key: str, value: Any) -> StatementParameterListItem:
    if value is None:
        return StatementParameterListItem(name=key, value=None, type="STRING")
    if hasattr(value, "isoformat"):
        return StatementParameterListItem(name=key, value=value.isoformat(), type="STRING")
    return StatementParameterListItem(name=key, value=str(value), type="STRING")


def _literal(text: str) -> str:
    """Escape text for a single-quoted Databricks SQL literal."""
    return text.replace("\\", "\\\\").replace("'", "\\'")
