import pytest

from housemon_dagster.core.alerting import aggregate, decide_state, validate_spec
from housemon_dagster.resources.base import AlertSpec


def spec(**changes):
    base = dict(
        display_name="a", query_text="SELECT 1", source_column="v", operator="GREATER_THAN",
        threshold=45.0, empty_result_state="OK",
    )
    return AlertSpec(**{**base, **changes})


@pytest.mark.parametrize(
    ("value", "state"), [(50.0, "TRIGGERED"), (45.0, "OK"), (0.0, "OK")]
)
def test_threshold_comparison(value, state):
    assert decide_state(spec(), [{"v": value}])[1] == state


def test_null_result_uses_empty_result_state():
    value, state, message = decide_state(spec(empty_result_state="ERROR"), [{"v": None}])
    assert value is None
    assert state == "ERROR"
    assert "empty_result_state" in message


def test_no_rows_uses_empty_result_state():
    assert decide_state(spec(), [])[1] == "OK"


def test_missing_column_is_error():
    value, state, message = decide_state(spec(), [{"other": 1}])
    assert state == "ERROR"
    assert "'v'" in message


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [("SUM", 6.0), ("AVG", 2.0), ("MIN", 1.0), ("MAX", 3.0), ("COUNT", 3.0), ("MEDIAN", 2.0)],
)
def test_aggregations(aggregation, expected):
    assert aggregate([1, 2, 3, None], aggregation) == expected


def test_unknown_operator_is_rejected():
    with pytest.raises(ValueError, match="operator 'ABOVE'"):
        validate_spec(spec(operator="ABOVE"))
