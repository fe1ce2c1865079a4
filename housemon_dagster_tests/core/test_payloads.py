import json

import pandas as pd
import pytest

from housemon_dagster.core.payloads import PayloadError, parse_chunk, parse_payload
from housemon_dagster.core.schema import REQUEST_FEATURES

RECORD = {"Id": "7", **{c: 1 for c in REQUEST_FEATURES}}
RECORD.update({c: "A" for c in ("MSZoning", "Street", "Alley", "LotShape", "LandContour",
                                "Neighborhood", "Condition1", "BldgType", "HouseStyle",
                                "RoofStyle", "Exterior1st", "Exterior2nd", "MasVnrType",
                                "Foundation", "Heating", "CentralAir", "SaleType",
                                "SaleCondition")})


def payload(request, response, status=200, request_id="r1"):
    return {
        "databricks_request_id": request_id,
        "request_time": pd.Timestamp("2026-01-01", tz="UTC"),
        "status_code": status,
        "request": json.dumps(request) if not isinstance(request, str) else request,
        "response": json.dumps(response) if not isinstance(response, str) else response,
        "served_entity_id": "m-1",
    }


@pytest.mark.parametrize(
    "request_body",
    [
        {"dataframe_records": [RECORD, RECORD]},
        {"dataframe_split": {"columns": list(RECORD), "data": [list(RECORD.values())] * 2}},
        {"inputs": [RECORD, RECORD]},
        {"instances": [RECORD, RECORD]},
        {"inputs": {k: [v, v] for k, v in RECORD.items()}},
    ],
    ids=["records", "split", "inputs", "instances", "columnar"],
)
def test_every_format_gives_rows(request_body):
    rows = parse_payload(payload(request_body, {"predictions": [1.0, 2.0]}))
    assert [r["prediction"] for r in rows] == [1.0, 2.0]
    assert [r["record_index"] for r in rows] == [0, 1]
    assert rows[0]["Id"] == "7"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (payload({"dataframe_records": [RECORD]}, {"message": "bad Id"}, status=400), "status code 400: bad Id"),
        (payload("{not json", {"predictions": [1]}), "not valid JSON"),
        (payload({"foo": []}, {"predictions": [1]}), "no known input key"),
        (payload({"dataframe_records": []}, {"predictions": []}), "contains no records"),
        (payload({"dataframe_records": [RECORD]}, {"predictions": [1, 2]}), "1 records but 2 predictions"),
        (payload({"dataframe_records": [RECORD]}, {"predictions": ["x"]}), "is not a number"),
        (payload({"dataframe_records": [RECORD]}, {"error": 1}), "no 'predictions' list"),
        (payload({"dataframe_records": [{**RECORD, "Id": None}]}, {"predictions": [1]}), "has no Id"),
        (payload({"dataframe_records": [{**RECORD, "LotArea": "big"}]}, {"predictions": [1]}), "LotArea contains 'big'"),
    ],
)
def test_bad_payload_gets_reason(row, reason):
    with pytest.raises(PayloadError, match=reason):
        parse_payload(row)


def test_chunk_keeps_every_payload():
    rows = [
        payload({"dataframe_records": [RECORD]}, {"predictions": [3.0]}, request_id="good"),
        payload("{", "{", request_id="bad"),
        payload({"dataframe_records": [RECORD]}, {"message": "x"}, status=500, request_id="failed"),
    ]
    parsed = parse_chunk(pd.DataFrame(rows))
    good = parsed[parsed["reason"].isna()]
    bad = parsed[parsed["reason"].notna()]
    assert good["databricks_request_id"].tolist() == ["good"]
    assert sorted(bad["databricks_request_id"]) == ["bad", "failed"]
    assert bad["request"].notna().all()
