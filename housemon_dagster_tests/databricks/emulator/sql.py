"""Statement Execution (``/api/2.0/sql/statements``) with DuckDB over the Delta warehouse.

Each statement gets a fresh DuckDB database. Every three-part table name in the
text is attached as a DuckDB catalog and loaded from the Delta table, Databricks
syntax DuckDB lacks is rewritten, and statements that change tables write the
changed tables back to Delta. ``DESCRIBE HISTORY`` and ``table_changes`` are read
from the Delta log directly.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
import warnings
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable
from starlette.requests import Request
from starlette.routing import Route

from housemon_dagster_tests.databricks.emulator.http import ApiError, not_found, route
from housemon_dagster_tests.databricks.emulator.state import EmulatorState

PART = r"(?:`[^`]+`|[A-Za-z_][\w]*)"
TABLE_NAME = re.compile(rf"(?<![\w.`'\"]){PART}\.{PART}\.{PART}(?![\w`])")
CHUNK_ROWS = 2000
WRITES = ("CREATE", "INSERT", "DROP", "MERGE", "DELETE", "UPDATE")


def _plain(name: str) -> str:
    return name.replace("`", "")


def _duck_name(name: str) -> str:
    return ".".join(f'"{part}"' for part in _plain(name).split("."))


def _translate(statement: str) -> str:
    """Rewrite Databricks SQL into DuckDB SQL, leaving string literals untouched."""
    text = re.sub(r"TBLPROPERTIES\s*\([^)]*\)", "", statement, flags=re.IGNORECASE)
    text = re.sub(r"COMMENT\s+'(?:[^'\\]|\\.)*'", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\bUSING\s+DELTA\b", "", text, flags=re.IGNORECASE)
    pieces = re.split(r"('(?:[^'\\]|\\.)*')", text)
    for index in range(0, len(pieces), 2):
        code = re.sub(r"\bTIMESTAMP\b", "TIMESTAMPTZ", pieces[index])
        code = re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"$\1", code)
        pieces[index] = code.replace("`", '"')
    return "".join(pieces)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _type_name(kind: pa.DataType) -> str:
    checks = [
        (pa.types.is_boolean, "BOOLEAN"),
        (pa.types.is_int8, "BYTE"),
        (pa.types.is_int16, "SHORT"),
        (pa.types.is_int32, "INT"),
        (pa.types.is_int64, "LONG"),
        (pa.types.is_floating, "DOUBLE"),
        (pa.types.is_decimal, "DECIMAL"),
        (pa.types.is_timestamp, "TIMESTAMP"),
        (pa.types.is_date, "DATE"),
        (pa.types.is_list, "ARRAY"),
        (pa.types.is_struct, "STRUCT"),
        (pa.types.is_map, "MAP"),
    ]
    for check, name in checks:
        if check(kind):
            return name
    return "STRING"


def _load(state: EmulatorState, con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    for name in names:
        catalog, schema, _ = _plain(name).split(".")
        attached = {
            row[0] for row in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        }
        if catalog not in attached:
            con.execute(f"ATTACH ':memory:' AS \"{catalog}\"")
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{catalog}"."{schema}"')
        if state.store.exists(_plain(name)):
            con.register("housemon_source", state.store.read_arrow(_plain(name)))
            con.execute(f"CREATE TABLE {_duck_name(name)} AS SELECT * FROM housemon_source")
            con.unregister("housemon_source")


def _write_back(
    state: EmulatorState, con: duckdb.DuckDBPyConnection, names: list[str], statement: str
) -> None:
    """Write changed tables to Delta: INSERT appends its new rows, DDL rewrites the table."""
    verb = " ".join(statement.split()[:5]).upper()
    for name in names:
        plain = _plain(name)
        catalog, schema, table = plain.split(".")
        found = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
            "AND table_name = ?",
            [catalog, schema, table],
        ).fetchall()[0][0]
        existed = state.store.exists(plain)
        if found and existed and verb.startswith("CREATE TABLE IF NOT EXISTS"):
            continue
        if found and existed and verb.startswith("INSERT"):
            before = state.store.read_arrow(plain).num_rows
            added = con.sql(f"SELECT * FROM {_duck_name(name)} OFFSET {before}").to_arrow_table()
            state.store.write(plain, added, mode="append")
        elif found:
            content = con.sql(f"SELECT * FROM {_duck_name(name)}").to_arrow_table()
            state.store.write(plain, content, mode="overwrite")
        elif existed:
            shutil.rmtree(state.store.path(plain))


def _special(state: EmulatorState, statement: str) -> pa.Table | None:
    history = re.match(
        rf"\s*DESCRIBE\s+HISTORY\s+({PART}\.{PART}\.{PART})", statement, re.IGNORECASE
    )
    if history:
        name = _plain(history.group(1))
        if not state.store.exists(name):
            raise _failed("TABLE_OR_VIEW_NOT_FOUND", f"The table or view {name} cannot be found.")
        entries = DeltaTable(str(state.store.path(name))).history()
        return pa.Table.from_pylist(
            [{"version": e["version"], "operation": e.get("operation")} for e in entries]
        )
    changes = re.match(
        r"\s*SELECT \* FROM table_changes\('([^']+)', (\d+)\)", statement, re.IGNORECASE
    )
    if changes:
        return state.store.changes_since(changes.group(1), int(changes.group(2)) - 1)
    return None


class _failed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def run_statement(state: EmulatorState, statement: str, parameters: dict[str, Any]) -> pa.Table:
    special = _special(state, statement)
    if special is not None:
        return special
    names = sorted({m.group(0) for m in TABLE_NAME.finditer(statement)})
    denied = [_plain(name) for name in names if _plain(name) in state.denied_tables]
    if denied:
        raise _failed(
            "INSUFFICIENT_PERMISSIONS",
            f"User does not have SELECT on Table '{denied[0]}'. PERMISSION_DENIED",
        )
    con = duckdb.connect()
    try:
        with state.lock:
            _load(state, con, names)
            writes = statement.lstrip().upper().startswith(WRITES)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = con.execute(_translate(statement), parameters).to_arrow_table()
            except duckdb.CatalogException as error:
                raise _failed("TABLE_OR_VIEW_NOT_FOUND", str(error)) from error
            except duckdb.Error as error:
                raise _failed("BAD_REQUEST", str(error)) from error
            if writes:
                _write_back(state, con, names, statement)
        return result
    finally:
        con.close()


def _manifest(table: pa.Table) -> dict[str, Any]:
    columns = [
        {"name": f.name, "position": i, "type_name": _type_name(f.type), "type_text": str(f.type)}
        for i, f in enumerate(table.schema)
    ]
    chunks = max(1, -(-table.num_rows // CHUNK_ROWS))
    return {
        "format": "JSON_ARRAY",
        "schema": {"column_count": len(columns), "columns": columns},
        "total_row_count": table.num_rows,
        "total_chunk_count": chunks,
    }


def _chunk(stored: dict[str, Any], index: int) -> dict[str, Any]:
    rows = stored["rows"]
    start = index * CHUNK_ROWS
    chunk = {
        "chunk_index": index,
        "row_offset": start,
        "data_array": rows[start : start + CHUNK_ROWS],
    }
    chunk["row_count"] = len(chunk["data_array"])
    if start + CHUNK_ROWS < len(rows):
        chunk["next_chunk_index"] = index + 1
    return chunk


def execute(state: EmulatorState, request: Request, body: Any) -> dict:
    if not body.get("warehouse_id"):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "warehouse_id is required")
    if (
        body.get("format", "JSON_ARRAY") != "JSON_ARRAY"
        or body.get("disposition", "INLINE") != "INLINE"
    ):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "the emulator serves INLINE JSON_ARRAY only")
    statement_id = str(uuid.uuid4())
    parameters = {p["name"]: p.get("value") for p in body.get("parameters") or []}
    stored: dict[str, Any] = {"statement_id": statement_id}
    try:
        table = run_statement(state, body["statement"], parameters)
    except _failed as error:
        stored["status"] = {
            "state": "FAILED",
            "error": {"error_code": "BAD_REQUEST", "message": f"[{error.code}] {error}"},
        }
        state.statements[statement_id] = stored
        return stored
    stored["rows"] = [[_cell(v) for v in row.values()] for row in table.to_pylist()]
    stored["manifest"] = _manifest(table)
    stored["status"] = {"state": "SUCCEEDED"}
    stored["pending_polls"] = state.statement_polls
    state.statements[statement_id] = stored
    return _response(stored)


def _response(stored: dict[str, Any]) -> dict[str, Any]:
    if stored.get("pending_polls", 0) > 0 or stored.get("canceled"):
        state = "CANCELED" if stored.get("canceled") else "RUNNING"
        return {"statement_id": stored["statement_id"], "status": {"state": state}}
    response = {key: stored[key] for key in ("statement_id", "status", "manifest") if key in stored}
    if "rows" in stored:
        response["result"] = _chunk(stored, 0)
    return response


def get_statement(state: EmulatorState, request: Request, body: Any) -> dict:
    stored = state.statements.get(request.path_params["statement_id"])
    if stored is None:
        raise not_found("Statement", request.path_params["statement_id"])
    stored["pending_polls"] = stored.get("pending_polls", 0) - 1
    return _response(stored)


def cancel_statement(state: EmulatorState, request: Request, body: Any) -> dict:
    stored = state.statements.get(request.path_params["statement_id"])
    if stored is None:
        raise not_found("Statement", request.path_params["statement_id"])
    stored["canceled"] = True
    return {}


def get_chunk(state: EmulatorState, request: Request, body: Any) -> dict:
    stored = state.statements.get(request.path_params["statement_id"])
    if stored is None or "rows" not in stored:
        raise not_found("Statement", request.path_params["statement_id"])
    return _chunk(stored, int(request.path_params["index"]))


def routes(state: EmulatorState) -> list[Route]:
    return [
        route(state, "/api/2.0/sql/statements/", execute, ["POST"]),
        route(state, "/api/2.0/sql/statements/{statement_id}", get_statement, ["GET"]),
        route(state, "/api/2.0/sql/statements/{statement_id}/cancel", cancel_statement, ["POST"]),
        route(
            state,
            "/api/2.0/sql/statements/{statement_id}/result/chunks/{index:int}",
            get_chunk,
            ["GET"],
        ),
    ]
