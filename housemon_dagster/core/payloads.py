"""Parsing logged serving payloads into monitoring rows.

A payload row is one request logged by the endpoint. It either becomes one
monitoring row per scored record or, when it is not a successful scoring or
cannot be parsed, one quarantine row that keeps the payload and the reason.
Nothing is dropped. The functions here work on pandas chunks so that Spark can
run them with ``mapInPandas`` on any platform.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from housemon_dagster.core.model import request_column_types
from housemon_dagster.core.schema import ID_COLUMN

PAYLOAD_COLUMNS = [
    "databricks_request_id",
    "request_time",
    "status_code",
    "request",
    "response",
    "served_entity_id",
]

QUARANTINE_COLUMNS = [*PAYLOAD_COLUMNS, "reason"]


class PayloadError(ValueError):
    """A payload that cannot become monitoring rows; the message is the quarantine reason."""


def _records_from_request(body: Any) -> list[dict[str, Any]]:
    """Return the request's rows as dicts for the four MLflow scoring formats."""
    if not isinstance(body, dict):
        raise PayloadError("request body is not a JSON object")
    if "dataframe_records" in body:
        records = body["dataframe_records"]
    elif "dataframe_split" in body:
        split = body["dataframe_split"]
        if not isinstance(split, dict) or "columns" not in split or "data" not in split:
            raise PayloadError("dataframe_split lacks 'columns' or 'data'")
        records = [dict(zip(split["columns"], row, strict=True)) for row in split["data"]]
    elif "inputs" in body or "instances" in body:
        records = body.get("inputs", body.get("instances"))
        if isinstance(records, dict):
            columns = list(records)
            records = [dict(zip(columns, row, strict=True)) for row in zip(*records.values())]
    else:
        raise PayloadError(f"request has no known input key, only {sorted(body)[:5]}")
    if not isinstance(records, list) or not records:
        raise PayloadError("request contains no records")
    if not all(isinstance(r, dict) for r in records):
        raise PayloadError("request records are not JSON objects")
    return records


def _predictions_from_response(body: Any) -> list[float]:
    predictions = body.get("predictions") if isinstance(body, dict) else body
    if not isinstance(predictions, list):
        raise PayloadError("response has no 'predictions' list")
    values = []
    for value in predictions:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PayloadError(f"prediction {value!r} is not a number")
        if not math.isfinite(value):
            raise PayloadError(f"prediction {value!r} is not finite")
        values.append(float(value))
    return values


def _typed(value: Any, kind: str, column: str) -> Any:
    if value is None:
        return None
    try:
        if kind == "string":
            return str(value)
        if kind == "double":
            return float(value)
        number = float(value)
        if not number.is_integer():
            raise ValueError
        return int(number)
    except (TypeError, ValueError) as error:
        raise PayloadError(f"column {column} contains {value!r}, which is not a {kind}") from error


def _error_message(response: Any) -> str:
    """Return the endpoint's error message from a rejected request's response, if any."""
    try:
        body = json.loads(response)
    except (TypeError, json.JSONDecodeError):
        return "not a successful scoring"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:500]
    return "not a successful scoring"


def parse_payload(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn one successful payload into monitoring rows, or raise ``PayloadError``."""
    status = row.get("status_code")
    if status != 200:
        raise PayloadError(f"status code {status}: {_error_message(row.get('response'))}")
    if row.get("request") is None or row.get("response") is None:
        raise PayloadError(
            "request or response body was not logged, as happens when it exceeds the "
            "endpoint's logging size limit (see logging_error_codes)"
        )
    try:
        request = json.loads(row["request"])
        response = json.loads(row["response"])
    except (TypeError, json.JSONDecodeError) as error:
        raise PayloadError(f"payload is not valid JSON: {error}") from error
    records = _records_from_request(request)
    predictions = _predictions_from_response(response)
    if len(predictions) != len(records):
        raise PayloadError(f"{len(records)} records but {len(predictions)} predictions")
    types = request_column_types()
    rows = []
    for index, (record, prediction) in enumerate(zip(records, predictions, strict=True)):
        if record.get(ID_COLUMN) in (None, ""):
            raise PayloadError(f"record {index} has no {ID_COLUMN}")
        parsed = {col: _typed(record.get(col), kind, col) for col, kind in types.items()}
        parsed.update(
            databricks_request_id=row["databricks_request_id"],
            record_index=index,
            timestamp=row["request_time"],
            prediction=prediction,
            served_entity_id=row.get("served_entity_id"),
        )
        rows.append(parsed)
    return rows


def parse_chunk(chunk: pd.DataFrame) -> pd.DataFrame:
    """Parse a chunk of payload rows into monitoring rows and quarantine rows.

    The result has the monitoring columns, ``reason`` and the raw payload columns;
    rows with a non-null ``reason`` are quarantine rows.
    """
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for row in chunk.to_dict("records"):
        try:
            good.extend(parse_payload(row))
        except PayloadError as error:
            bad.append({**{c: row.get(c) for c in PAYLOAD_COLUMNS}, "reason": str(error)})
    return pd.concat([pd.DataFrame(good), pd.DataFrame(bad)], ignore_index=True)
