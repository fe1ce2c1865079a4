"""Parsing and validating MLflow scoring requests into typed column arrays.

Accepted bodies are JSON objects with exactly one of these input fields, as in the
MLflow 2+ scoring protocol that Databricks Model Serving speaks:

- ``dataframe_records``: a list of ``{column: value}`` objects;
- ``dataframe_split``: ``{"columns": [...], "data": [[...], ...]}`` (``index`` optional);
- ``inputs`` or ``instances``: a list of records or an object of ``{column: [values]}``.

``client_request_id`` (a string) may sit beside the input field; it is stored in the
inference table. Validation is strict: every request column must be present, no other
column may be, and values must have the column's type (``string``, ``long`` for whole
numbers, ``double`` for any JSON number). Nulls, NaN and infinities are rejected.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from housemon_dagster.local.serving.errors import ApiError

INPUT_FIELDS = ("dataframe_records", "dataframe_split", "inputs", "instances")
OPTIONAL_FIELDS = ("client_request_id",)
SPLIT_FIELDS = ("columns", "data", "index")
MAX_CLIENT_REQUEST_ID_LENGTH = 256
NUMPY_TYPES = {"string": object, "long": np.int64, "double": np.float64}
TYPE_HINTS = {
    "string": "a JSON string",
    "long": "a whole JSON number without a fraction",
    "double": "a JSON number",
}


@dataclass(frozen=True)
class ScoringRequest:
    """A validated request: one typed array per column, in schema order."""

    columns: dict[str, np.ndarray]
    rows: int
    input_field: str
    client_request_id: str | None

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def decode_json(body: bytes) -> Any:
    """Decode a request body, rejecting invalid UTF-8, invalid JSON, NaN and Infinity."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError as error:
        raise ApiError(
            "MALFORMED_REQUEST", "request body nests JSON too deeply; send flat records"
        ) from error
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiError(
            "MALFORMED_REQUEST",
            f"request body is not valid JSON ({error}); send a UTF-8 JSON object such as "
            '{"dataframe_records": [{...}]}',
        ) from error


def parse_request(body: bytes, columns: dict[str, str]) -> ScoringRequest:
    """Turn a request body into typed arrays for the given ``{column: type}`` schema."""
    payload = decode_json(body)
    if not isinstance(payload, dict):
        raise ApiError(
            "BAD_REQUEST",
            f"request body is a JSON {_json_type(payload)}; send a JSON object with exactly "
            f"one of the input fields {list(INPUT_FIELDS)}",
        )
    input_field = _input_field(payload)
    client_request_id = _client_request_id(payload)
    value = payload[input_field]
    if input_field == "dataframe_split":
        names, rows = _split_rows(value)
        table = _columns_from_rows(names, rows)
    elif input_field == "dataframe_records" or isinstance(value, list):
        table = _columns_from_records(value, field=input_field)
    elif isinstance(value, dict):
        table = _columns_from_mapping(value, field=input_field)
    else:
        raise ApiError(
            "BAD_REQUEST",
            f"field {input_field!r} is a JSON {_json_type(value)}; send a list of records "
            "or an object mapping each column to a list of values",
        )
    _check_column_names(list(table), columns, field=input_field)
    typed = _typed_columns(table, columns)
    rows = len(next(iter(typed.values())))
    return ScoringRequest(typed, rows, input_field, client_request_id)


def _input_field(payload: dict[str, Any]) -> str:
    present = [name for name in INPUT_FIELDS if name in payload]
    unknown = [name for name in payload if name not in INPUT_FIELDS + OPTIONAL_FIELDS]
    if len(present) != 1:
        raise ApiError(
            "BAD_REQUEST",
            f"request body must contain exactly one of the input fields {list(INPUT_FIELDS)} "
            f"but has the fields {sorted(payload)}; wrap the records as "
            '{"dataframe_records": [{...}]}',
        )
    if unknown:
        raise ApiError(
            "BAD_REQUEST",
            f"request body has unknown fields {sorted(unknown)}; allowed beside "
            f"{present[0]!r} is only {list(OPTIONAL_FIELDS)}",
        )
    return present[0]


def _client_request_id(payload: dict[str, Any]) -> str | None:
    value = payload.get("client_request_id")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_CLIENT_REQUEST_ID_LENGTH:
        raise ApiError(
            "INVALID_PARAMETER_VALUE",
            "field 'client_request_id' must be a string of at most "
            f"{MAX_CLIENT_REQUEST_ID_LENGTH} characters; got a JSON {_json_type(value)}",
        )
    return value


def _split_rows(value: Any) -> tuple[list[Any], list[Any]]:
    if not isinstance(value, dict):
        raise ApiError(
            "BAD_REQUEST",
            f"field 'dataframe_split' is a JSON {_json_type(value)}; send an object "
            '{"columns": [...], "data": [[...]]}',
        )
    unknown = sorted(set(value) - set(SPLIT_FIELDS))
    missing = [name for name in ("columns", "data") if name not in value]
    if unknown or missing:
        raise ApiError(
            "BAD_REQUEST",
            f"field 'dataframe_split' lacks {missing} and has unknown fields {unknown}; it "
            "takes 'columns', 'data' and optionally 'index'",
        )
    names, rows = value["columns"], value["data"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ApiError(
            "BAD_REQUEST", "field 'dataframe_split.columns' must be a list of column names"
        )
    if not isinstance(rows, list):
        raise ApiError("BAD_REQUEST", "field 'dataframe_split.data' must be a list of rows")
    if "index" in value and (
        not isinstance(value["index"], list) or len(value["index"]) != len(rows)
    ):
        raise ApiError(
            "BAD_REQUEST",
            "field 'dataframe_split.index' must be a list with one entry per row of 'data'",
        )
    return names, rows


def _columns_from_rows(names: list[str], rows: list[Any]) -> dict[str, list[Any]]:
    _require_rows(rows, field="dataframe_split.data")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ApiError(
            "INVALID_PARAMETER_VALUE",
            f"field 'dataframe_split.columns' repeats {duplicated}; name each column once",
        )
    for position, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise ApiError(
                "BAD_REQUEST",
                f"row {position} of 'dataframe_split.data' is not a list of {len(names)} "
                "values; send one value per entry of 'columns'",
            )
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _columns_from_records(records: Any, *, field: str) -> dict[str, list[Any]]:
    if not isinstance(records, list):
        raise ApiError(
            "BAD_REQUEST",
            f"field {field!r} is a JSON {_json_type(records)}; send a list of records",
        )
    _require_rows(records, field=field)
    first = records[0]
    if not isinstance(first, dict):
        raise ApiError(
            "BAD_REQUEST", f"record 0 of {field!r} is not a JSON object; send {{column: value}}"
        )
    names = list(first)
    expected = set(names)
    for position, record in enumerate(records):
        if not isinstance(record, dict) or record.keys() != expected:
            _reject_record(record, expected, position=position, field=field)
    return {name: [record[name] for record in records] for name in names}


def _reject_record(record: Any, expected: set[str], *, position: int, field: str) -> None:
    if not isinstance(record, dict):
        raise ApiError(
            "BAD_REQUEST",
            f"record {position} of {field!r} is a JSON {_json_type(record)}; send "
            "{column: value} objects",
        )
    missing = sorted(expected - record.keys())
    extra = sorted(record.keys() - expected)
    raise ApiError(
        "INVALID_PARAMETER_VALUE",
        f"record {position} of {field!r} has other columns than record 0: missing "
        f"{missing}, extra {extra}; send the same columns in every record",
    )


def _columns_from_mapping(mapping: dict[str, Any], *, field: str) -> dict[str, list[Any]]:
    lengths = set()
    for name, values in mapping.items():
        if not isinstance(values, list):
            raise ApiError(
                "BAD_REQUEST",
                f"column {name!r} of {field!r} is a JSON {_json_type(values)}; send a list "
                "of values per column",
            )
        lengths.add(len(values))
    if len(lengths) > 1:
        raise ApiError(
            "BAD_REQUEST",
            f"columns of {field!r} have different lengths {sorted(lengths)}; send one value "
            "per record in every column",
        )
    if not mapping or lengths == {0}:
        _require_rows([], field=field)
    return mapping


def _require_rows(rows: list[Any], *, field: str) -> None:
    if not rows:
        raise ApiError(
            "INVALID_PARAMETER_VALUE",
            f"field {field!r} contains no records; send at least one record",
        )


def _check_column_names(names: list[str], columns: dict[str, str], *, field: str) -> None:
    missing = [name for name in columns if name not in names]
    extra = sorted(name for name in names if name not in columns)
    if missing or extra:
        raise ApiError(
            "INVALID_PARAMETER_VALUE",
            f"field {field!r} does not match the model signature: missing columns {missing}, "
            f"unexpected columns {extra}; send exactly the columns {list(columns)}",
        )


def _typed_columns(table: dict[str, list[Any]], columns: dict[str, str]) -> dict[str, np.ndarray]:
    typed = {}
    for name, kind in columns.items():
        values = table[name]
        _check_values(name, kind, values)
        typed[name] = np.array(values, dtype=NUMPY_TYPES[kind])
    return typed


def _check_values(name: str, kind: str, values: list[Any]) -> None:
    if kind == "string":
        valid = [type(value) is str for value in values]
    elif kind == "long":
        valid = [type(value) is int for value in values]
    else:
        valid = [
            type(value) is int or (type(value) is float and math.isfinite(value))
            for value in values
        ]
    if all(valid):
        if kind != "string":
            _check_range(name, values)
        return
    position = valid.index(False)
    value = values[position]
    raise ApiError(
        "INVALID_PARAMETER_VALUE",
        f"column {name!r} has type {kind} but record {position} contains {json.dumps(value)} "
        f"(a JSON {_json_type(value)}); send {TYPE_HINTS[kind]}",
    )


# The model computes in 32-bit floats, and no house feature comes near this size.
MAX_ABS_NUMBER = 1e15


def _check_range(name: str, values: list[Any]) -> None:
    for position, value in enumerate(values):
        if abs(value) > MAX_ABS_NUMBER:
            raise ApiError(
                "INVALID_PARAMETER_VALUE",
                f"column {name!r} record {position} contains {value:.6g}, outside the "
                f"supported range of +/-{MAX_ABS_NUMBER:.0e}; send a realistic value",
            )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
