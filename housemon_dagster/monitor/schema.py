"""Arrow schemas of the profile and drift metric tables, as Lakehouse Monitoring writes them."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from housemon_dagster.monitor.config import MonitorConfig

TIMESTAMP = pa.timestamp("us", tz="UTC")
WINDOW = pa.struct([("start", TIMESTAMP), ("end", TIMESTAMP)])
FREQUENT_ITEM = pa.struct([("item", pa.string()), ("count", pa.int64())])
TEST_RESULT = pa.struct([("statistic", pa.float64()), ("pvalue", pa.float64())])
NON_NULL_DELTA = pa.struct([("added", pa.int64()), ("missing", pa.int64())])
SPARK_TO_ARROW = {
    "double": pa.float64(),
    "bigint": pa.int64(),
    "string": pa.string(),
    "boolean": pa.bool_(),
}

PROFILE_HEAD = [
    ("window", WINDOW),
    ("log_type", pa.string()),
    ("logging_table_commit_version", pa.int64()),
    ("monitor_version", pa.int64()),
    ("granularity", pa.string()),
    ("slice_key", pa.string()),
    ("slice_value", pa.string()),
]
PROFILE_METRICS = [
    ("column_name", pa.string()),
    ("count", pa.int64()),
    ("data_type", pa.string()),
    ("num_nulls", pa.int64()),
    ("avg", pa.float64()),
    ("quantiles", pa.list_(pa.float64())),
    ("min", pa.float64()),
    ("max", pa.float64()),
    ("stddev", pa.float64()),
    ("num_zeros", pa.int64()),
    ("num_nan", pa.int64()),
    ("min_length", pa.int64()),
    ("max_length", pa.int64()),
    ("avg_length", pa.float64()),
    ("non_null_columns", pa.list_(pa.string())),
    ("frequent_items", pa.list_(FREQUENT_ITEM)),
    ("median", pa.float64()),
    ("distinct_count", pa.int64()),
    ("percent_nan", pa.float64()),
    ("percent_null", pa.float64()),
    ("percent_zeros", pa.float64()),
    ("percent_distinct", pa.float64()),
]
REGRESSION_METRICS = [
    ("mean_squared_error", pa.float64()),
    ("root_mean_squared_error", pa.float64()),
    ("mean_average_error", pa.float64()),
    ("mean_absolute_percentage_error", pa.float64()),
    ("r2_score", pa.float64()),
]
DRIFT_HEAD = [
    ("window", WINDOW),
    ("granularity", pa.string()),
    ("monitor_version", pa.int64()),
    ("slice_key", pa.string()),
    ("slice_value", pa.string()),
]
DRIFT_METRICS = [
    ("column_name", pa.string()),
    ("data_type", pa.string()),
    ("window_cmp", WINDOW),
    ("drift_type", pa.string()),
    ("count_delta", pa.float64()),
    ("avg_delta", pa.float64()),
    ("percent_null_delta", pa.float64()),
    ("percent_zeros_delta", pa.float64()),
    ("percent_distinct_delta", pa.float64()),
    ("non_null_columns_delta", NON_NULL_DELTA),
    ("js_distance", pa.float64()),
    ("ks_test", TEST_RESULT),
    ("wasserstein_distance", pa.float64()),
    ("population_stability_index", pa.float64()),
    ("chi_squared_test", TEST_RESULT),
    ("tv_distance", pa.float64()),
    ("l_infinity_distance", pa.float64()),
]


def _model_field(config: MonitorConfig) -> list[tuple[str, pa.DataType]]:
    return [(config.model_id_col, pa.string())] if config.model_id_col else []


def _custom_fields(config: MonitorConfig, kinds: set[str]) -> list[tuple[str, pa.DataType]]:
    return [
        (metric.name, SPARK_TO_ARROW[metric.output_type])
        for metric in config.custom_metrics
        if metric.type in kinds
    ]


def profile_schema(config: MonitorConfig) -> pa.Schema:
    """Return the profile table schema; the model id column is present for InferenceLog."""
    fields = PROFILE_HEAD + _model_field(config) + PROFILE_METRICS
    if config.profile_type == "InferenceLog" and config.label_col:
        fields = fields + REGRESSION_METRICS
    fields = fields + _custom_fields(config, {"aggregate", "derived"})
    return pa.schema([pa.field(name, kind) for name, kind in fields])


def drift_schema(config: MonitorConfig) -> pa.Schema:
    """Return the drift table schema; the model id column is present for InferenceLog."""
    fields = DRIFT_HEAD + _model_field(config) + DRIFT_METRICS + _custom_fields(config, {"drift"})
    return pa.schema([pa.field(name, kind) for name, kind in fields])


def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build a table from row dicts, filling absent metrics with null."""
    columns = {field.name: [row.get(field.name) for row in rows] for field in schema}
    return pa.table(columns, schema=schema)


def spark_type_name(kind: pa.DataType) -> str:
    """Return the Spark SQL name of an Arrow type, as the ``data_type`` column stores it."""
    checks = [
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_int8, "tinyint"),
        (pa.types.is_int16, "smallint"),
        (pa.types.is_int32, "int"),
        (pa.types.is_integer, "bigint"),
        (pa.types.is_float32, "float"),
        (pa.types.is_floating, "double"),
        (pa.types.is_decimal, "decimal"),
        (pa.types.is_timestamp, "timestamp"),
        (pa.types.is_date, "date"),
        (pa.types.is_string, "string"),
        (pa.types.is_large_string, "string"),
    ]
    for check, name in checks:
        if check(kind):
            return name
    return str(kind)
