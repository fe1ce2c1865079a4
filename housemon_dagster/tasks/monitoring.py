"""Logged payloads to the ``model_monitoring`` table, with Spark.

Each refresh takes the payloads not yet in ``model_monitoring`` or in
``model_monitoring_quarantine`` (matched on ``databricks_request_id``), so every
payload row lands in exactly one of the two, once. Predictions whose true price
is not known yet keep a null ``sale_price`` and get it on a later refresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from housemon_dagster.core.model import request_column_types
from housemon_dagster.core.payloads import PAYLOAD_COLUMNS, parse_chunk
from housemon_dagster.core.schema import ID_COLUMN, LOOKUP_FEATURES, TARGET_COLUMN
from housemon_dagster.tasks import TaskContext

# Label sources in priority order: the first table that contains an Id gives its price.
LABEL_TABLES = ("test_set", "inference_set_normal", "inference_set_skewed")
ROW_KEYS = ["databricks_request_id", "record_index"]
# ``copy`` numbers payloads logged more than once under one request id, from 1.
QUARANTINE_KEYS = ["databricks_request_id", "copy"]
SPARK_TYPES = {"string": "string", "double": "double", "long": "bigint"}


def parsed_schema() -> str:
    """Return the DDL schema of ``parse_chunk``'s output."""
    features = [f"`{c}` {SPARK_TYPES[k]}" for c, k in request_column_types().items()]
    return ", ".join(
        [
            *features,
            "databricks_request_id string",
            "record_index int",
            "timestamp timestamp",
            "prediction double",
            "served_entity_id string",
            "request_time timestamp",
            "status_code int",
            "request string",
            "response string",
            "reason string",
        ]
    )


PANDAS_TYPES = {"string": "object", "double": "float64", "bigint": "Int64", "int": "Int32"}


def parse_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Run ``parse_chunk`` on each Arrow batch and give every column its schema type.

    A batch may lack a column entirely (no quarantined payload, say), so each column
    is built with its declared type rather than inferred from the values.
    """
    fields = [field.split(" ") for field in parsed_schema().split(", ")]
    for batch in batches:
        parsed = parse_chunk(batch)
        typed = {}
        for name, kind in fields:
            name = name.strip("`")
            values = parsed[name] if name in parsed.columns else pd.Series([None] * len(parsed))
            if kind == "timestamp":
                typed[name] = pd.to_datetime(values, utc=True)
            elif kind == "string":
                typed[name] = values.astype(object).where(values.notna(), None)
            else:
                typed[name] = values.astype(PANDAS_TYPES[kind])
        yield pd.DataFrame(typed)


def normalized_payloads(payloads: Any) -> Any:
    """Select the payload columns from an AI Gateway or a legacy inference table.

    Legacy tables log ``timestamp_ms`` (epoch milliseconds) instead of
    ``request_time``. A payload without a request id gets one derived from its
    content, so it is still matched exactly once.
    """
    from pyspark.sql import functions as F

    if "request_time" in payloads.columns:
        request_time = F.col("request_time").cast("timestamp")
    elif "timestamp_ms" in payloads.columns:
        request_time = F.timestamp_millis(F.col("timestamp_ms"))
    else:
        raise ValueError(
            "the inference table has neither request_time nor timestamp_ms; "
            f"its columns are {payloads.columns}"
        )
    content = F.concat_ws("|", request_time.cast("string"), "request", "response")
    request_id = F.coalesce(
        F.col("databricks_request_id"), F.concat(F.lit("content-"), F.sha2(content, 256))
    )
    served = F.col("served_entity_id") if "served_entity_id" in payloads.columns else F.lit(None)
    return payloads.select(
        request_id.alias("databricks_request_id"),
        request_time.alias("request_time"),
        F.col("status_code").cast("int").alias("status_code"),
        F.col("request").cast("string").alias("request"),
        F.col("response").cast("string").alias("response"),
        served.cast("string").alias("served_entity_id"),
    )


def _labels(context: TaskContext, spark: Any) -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    frames = []
    for priority, name in enumerate(LABEL_TABLES):
        table = context.table(name)
        if context.store.exists(table):
            frame = context.store.read_spark(spark, table).select(ID_COLUMN, TARGET_COLUMN)
            frames.append(frame.withColumn("priority", F.lit(priority)))
    if not frames:
        raise RuntimeError("no label table exists; materialize test_set first")
    labels = frames[0]
    for frame in frames[1:]:
        labels = labels.unionByName(frame)
    first = Window.partitionBy(ID_COLUMN).orderBy("priority")
    labels = labels.where(F.col(TARGET_COLUMN).isNotNull())
    labels = labels.withColumn("rank", F.row_number().over(first)).where("rank = 1")
    return labels.select(ID_COLUMN, F.col(TARGET_COLUMN).cast("double").alias("sale_price"))


def _seen_request_ids(context: TaskContext, spark: Any, tables: list[str]) -> Any | None:
    seen = None
    for table in tables:
        if context.store.exists(table):
            ids = context.store.read_spark(spark, table).select("databricks_request_id")
            seen = ids if seen is None else seen.unionByName(ids)
    return seen


def _split_duplicates(new: Any) -> Any:
    """Number the payloads that share a request id, so each copy gets its own row key."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("databricks_request_id").orderBy("request_time", "request")
    ranked = new.withColumn("copy", F.row_number().over(order))
    return ranked


def refresh_monitoring_table(context: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Parse new payloads, join labels and features, append, and backfill late labels."""
    from pyspark.sql import functions as F

    spark = context.spark
    inference_table = params["inference_table"]
    monitoring = context.table("model_monitoring")
    quarantine = context.table("model_monitoring_quarantine")
    if not context.store.exists(inference_table):
        raise RuntimeError(
            f"inference table {inference_table} does not exist because no request has "
            "reached the endpoint yet; run the monitoring_pipeline job first"
        )
    payloads = normalized_payloads(context.store.read_spark(spark, inference_table))
    seen = _seen_request_ids(context, spark, [monitoring, quarantine])
    new = payloads if seen is None else payloads.join(seen, "databricks_request_id", "left_anti")
    ranked = _split_duplicates(new)
    duplicates = ranked.where("copy > 1").withColumn(
        "reason", F.lit("duplicate of an earlier payload with the same databricks_request_id")
    )
    parsed = ranked.where("copy = 1").drop("copy").mapInPandas(parse_batches, parsed_schema())
    parsed = parsed.persist()

    bad = parsed.where("reason IS NOT NULL").select(*PAYLOAD_COLUMNS, "reason")
    bad = bad.withColumn("copy", F.lit(1)).unionByName(
        duplicates.select(*PAYLOAD_COLUMNS, "reason", "copy")
    )
    bad = bad.withColumn("quarantined_at", F.current_timestamp())
    good = _enrich(context, spark, parsed.where("reason IS NULL"), params["model_name"])

    good_rows = good.count()
    bad_pdf = bad.toPandas()
    # Merging on the row keys instead of appending keeps a refresh that overlaps
    # another one from writing the same payload twice.
    if good_rows:
        context.store.merge(monitoring, good, keys=ROW_KEYS)
    if len(bad_pdf):
        context.store.merge(quarantine, bad_pdf, keys=QUARANTINE_KEYS)
    backfilled = _backfill_labels(context, spark, monitoring)
    parsed.unpersist()
    return _summary(context, monitoring, good_rows, bad_pdf, backfilled)


def _enrich(context: TaskContext, spark: Any, good: Any, model_name: str) -> Any:
    from pyspark.sql import functions as F

    features = context.store.read_spark(spark, context.table("house_features"))
    features = features.select(ID_COLUMN, *[F.col(c).cast("int") for c in LOOKUP_FEATURES])
    request_columns = list(request_column_types())
    enriched = good.join(_labels(context, spark), ID_COLUMN, "left").join(
        features, ID_COLUMN, "left"
    )
    return enriched.select(
        *request_columns,
        *LOOKUP_FEATURES,
        "timestamp",
        F.lit(model_name).alias("model_name"),
        "served_entity_id",
        "prediction",
        "sale_price",
        "databricks_request_id",
        "record_index",
    )


def _backfill_labels(context: TaskContext, spark: Any, monitoring: str) -> int:
    """Fill ``sale_price`` of rows whose label has arrived since they were written."""
    if not context.store.exists(monitoring):
        return 0
    pending = context.store.read_spark(spark, monitoring).where("sale_price IS NULL")
    arrived = pending.drop("sale_price").join(_labels(context, spark), ID_COLUMN, "inner")
    arrived = arrived.select(*context.store.read_spark(spark, monitoring).columns)
    rows = arrived.count()
    if rows:
        context.store.merge(monitoring, arrived, keys=ROW_KEYS)
        context.log.info("Backfilled %d late labels in %s", rows, monitoring)
    return rows


def _summary(
    context: TaskContext, monitoring: str, appended: int, bad: Any, backfilled: int
) -> dict[str, Any]:
    reasons = bad["reason"].str.split(":").str[0].value_counts().to_dict() if len(bad) else {}
    context.log.info(
        "Appended %d monitoring rows, quarantined %d payloads, backfilled %d labels",
        appended, len(bad), backfilled,
    )
    return {
        "rows_appended": appended,
        "payloads_quarantined": len(bad),
        "labels_backfilled": backfilled,
        "quarantine_reasons": {str(k): int(v) for k, v in reasons.items()},
        "table_version": context.store.version(monitoring),
    }
