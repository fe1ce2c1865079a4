"""The monitoring table, the quality monitor and its metric tables."""


import dagster as dg

from housemon_dagster.assets.metadata import markdown_table, plain, table_metadata
from housemon_dagster.core.tables import TableStore
from housemon_dagster.resources.base import (
    MonitorResource,
    ServingResource,
    SparkTasksResource,
    TablesResource,
)
from housemon_dagster.resources.policy import MonitoringPolicy
from housemon_dagster.settings import MODEL_NAME

SERVING_PAYLOADS = "serving_payloads"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "model_monitoring",
            group_name="monitoring",
            deps=[SERVING_PAYLOADS, "request_traffic", "house_features", "test_set",
                  "inference_set_normal", "inference_set_skewed"],
            description="One row per scored record: features, prediction, true sale price",
        ),
        dg.AssetSpec(
            "model_monitoring_quarantine",
            group_name="monitoring",
            deps=[SERVING_PAYLOADS],
            description="Logged payloads that are not successful scorings, with the reason",
        ),
    ],
)
def monitoring_table(
    context: dg.AssetExecutionContext,
    tables: TablesResource,
    serving: ServingResource,
    spark_tasks: SparkTasksResource,
):
    """Parse new payloads, join labels and looked-up features, append; quarantine the rest."""
    params = {"inference_table": serving.inference_table(), "model_name": MODEL_NAME}
    result = spark_tasks.run(context, "refresh_monitoring_table", params)
    store = tables.store()
    for key in ("model_monitoring", "model_monitoring_quarantine"):
        name = tables.name(key)
        metadata = table_metadata(store, name) if store.exists(name) else {"dagster/row_count": 0}
        yield dg.MaterializeResult(asset_key=key, metadata={**metadata, **plain(result)})


@dg.asset(group_name="monitoring", deps=["model_monitoring", "train_set"])
def quality_monitor(
    context: dg.AssetExecutionContext,
    tables: TablesResource,
    monitor: MonitorResource,
    policy: MonitoringPolicy,
) -> dg.MaterializeResult:
    """InferenceLog regression monitor on model_monitoring, baseline the training set."""
    spec = policy.monitor_spec(tables)
    result = monitor.create_or_update(context, spec)
    return dg.MaterializeResult(
        metadata={
            **plain(result),
            "table": spec.table_name,
            "granularities": ", ".join(spec.granularities),
            "baseline": spec.baseline_table_name or "",
        }
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "model_monitoring_profile_metrics",
            group_name="monitoring",
            deps=["model_monitoring", "quality_monitor"],
            description="Profile metrics per window, slice and column",
        ),
        dg.AssetSpec(
            "model_monitoring_drift_metrics",
            group_name="monitoring",
            deps=["model_monitoring", "quality_monitor"],
            description="Drift against the previous window and the baseline",
        ),
    ],
)
def monitor_metrics(
    context: dg.AssetExecutionContext,
    tables: TablesResource,
    monitor: MonitorResource,
    policy: MonitoringPolicy,
):
    """Refresh the monitor and report quality and drift per window."""
    spec = policy.monitor_spec(tables)
    result = monitor.refresh(context, spec)
    store = tables.store()
    summary = window_summary(store, spec.profile_table, spec.drift_table)
    for key, name in (
        ("model_monitoring_profile_metrics", spec.profile_table),
        ("model_monitoring_drift_metrics", spec.drift_table),
    ):
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={**table_metadata(store, name), **plain(result), "windows": summary},
        )


def window_summary(store: TableStore, profile_table: str, drift_table: str) -> dg.MetadataValue:
    """Tabulate MAE and baseline KS p-values of the lookup features per window."""
    from housemon_dagster.core.windows import quality_by_window

    rows = quality_by_window(store, profile_table, drift_table)
    return markdown_table(rows[-12:])
