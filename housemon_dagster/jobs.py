"""Jobs: the stages of the monitoring loop and the whole loop in order.

Every job runs in one process so that a run starts at most one local Spark session.
"""

from __future__ import annotations

import dagster as dg

SOURCE = ["train_set", "test_set"]
INFERENCE_DATA = [
    "inference_set_normal",
    "inference_set_skewed",
    "house_features",
    "online_feature_store",
]
MONITORING_TABLES = ["model_monitoring", "model_monitoring_quarantine"]
METRICS = ["model_monitoring_profile_metrics", "model_monitoring_drift_metrics"]


def _job(name: str, selection: dg.AssetSelection, description: str) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name, selection=selection, executor_def=dg.in_process_executor, description=description
    )


create_inference_data = _job(
    "create_inference_data",
    dg.AssetSelection.assets(*INFERENCE_DATA),
    "Draw the normal and skewed inference sets, upsert their features, refresh the online store.",
)
send_requests = _job(
    "send_requests",
    dg.AssetSelection.assets("request_traffic"),
    "Replay the test set, then the skewed set, against the serving endpoint.",
)
refresh_monitoring = _job(
    "refresh_monitoring",
    dg.AssetSelection.assets(*MONITORING_TABLES, *METRICS, "alert_evaluations"),
    "Parse new payloads into model_monitoring, refresh the monitor, evaluate the alert.",
)
refresh_monitor_metrics = _job(
    "refresh_monitor_metrics",
    dg.AssetSelection.assets(*METRICS),
    "Refresh the quality monitor's metric tables.",
)
evaluate_alert = _job(
    "evaluate_alert",
    dg.AssetSelection.assets("alert_evaluations"),
    "Evaluate the model quality alert once.",
)
refresh_online_store = _job(
    "refresh_online_store",
    dg.AssetSelection.assets("online_feature_store"),
    "Publish the feature table to the online store.",
)
setup_monitoring = _job(
    "setup_monitoring",
    dg.AssetSelection.assets("quality_monitor", "model_quality_alert"),
    "Create or update the quality monitor and the alert to their declared configuration.",
)
monitoring_pipeline = _job(
    "monitoring_pipeline",
    dg.AssetSelection.all() - dg.AssetSelection.assets("serving_payloads"),
    "The whole loop: data, features, model, endpoint, traffic, monitoring, alert.",
)

ALL_JOBS = [
    create_inference_data,
    send_requests,
    refresh_monitoring,
    refresh_monitor_metrics,
    evaluate_alert,
    refresh_online_store,
    setup_monitoring,
    monitoring_pipeline,
]
