"""Task code on real Delta tables and local Spark."""

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest

from housemon_dagster.core.schema import ID_COLUMN
from housemon_dagster.core.traffic import request_records
from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.local.registry import ModelRegistry
from housemon_dagster.tasks import TaskContext, run_task

PAYLOADS = "mlops_dev.house_prices.payloads"
PARAMS = {"inference_table": PAYLOADS, "model_name": "house_prices_model_fe"}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, spark):
    """A warehouse with the source sets, inference sets and feature table written by tasks."""
    home = tmp_path_factory.mktemp("home")
    store = DeltaTableStore(home / "warehouse")
    context = TaskContext(
        store=store, catalog="mlops_dev", schema="house_prices",
        spark_factory=lambda: spark, registry=ModelRegistry(home / "models"),
    )
    run_task("prepare_data", context, {})
    run_task("create_inference_sets", context, {"config": {"normal_rows": 50, "skewed_rows": 50}})
    run_task("update_feature_table", context, {})
    return home, context


def fresh_context(prepared, tmp_path: Path) -> TaskContext:
    """A context whose warehouse copies the prepared one, so tests do not share payloads."""
    import shutil

    home, context = prepared
    shutil.copytree(home / "warehouse", tmp_path / "warehouse")
    store = DeltaTableStore(tmp_path / "warehouse")
    return TaskContext(
        store=store, catalog="mlops_dev", schema="house_prices",
        spark_factory=context.spark_factory, registry=context.registry,
    )


def payload_rows(records, *, status=200, legacy=False):
    rows = []
    for record in records:
        row = {
            "databricks_request_id": str(uuid.uuid4()),
            "status_code": status,
            "request": json.dumps({"dataframe_records": [record]}),
            "response": json.dumps({"predictions": [123456.0]}),
            "served_entity_id": "house_prices_model_fe-1",
        }
        now = pd.Timestamp.now(tz="UTC")
        if legacy:
            row["timestamp_ms"] = int(now.timestamp() * 1000)
        else:
            row["request_time"] = now
        rows.append(row)
    return pd.DataFrame(rows)


def test_inference_rerun_reuses_ids(prepared):
    _, context = prepared
    before = context.store.read_pandas(context.table("inference_set_skewed"))
    run_task("create_inference_sets", context, {"config": {"normal_rows": 50, "skewed_rows": 50}})
    after = context.store.read_pandas(context.table("inference_set_skewed"))
    assert sorted(before[ID_COLUMN]) == sorted(after[ID_COLUMN])


def test_feature_upsert_never_duplicates(prepared, tmp_path):
    context = fresh_context(prepared, tmp_path)
    table = context.table("house_features")
    rows_before = context.store.read_arrow(table).num_rows
    result = run_task("update_feature_table", context, {})
    ids = context.store.read_pandas(table)[ID_COLUMN]
    assert result["rows_inserted"] == 0
    assert len(ids) == rows_before
    assert ids.is_unique


def test_new_config_gets_ids_above_all_known(prepared, tmp_path):
    context = fresh_context(prepared, tmp_path)
    old_ids = set(context.store.read_pandas(context.table("house_features"))[ID_COLUMN])
    run_task("create_inference_sets", context, {"config": {"normal_rows": 30, "skewed_rows": 30, "seed": 99}})
    new_ids = set(context.store.read_pandas(context.table("inference_set_normal"))[ID_COLUMN])
    assert new_ids.isdisjoint(old_ids)


@pytest.mark.parametrize("legacy", [False, True], ids=["ai_gateway", "legacy"])
def test_payloads_land_exactly_once(prepared, tmp_path, legacy):
    context = fresh_context(prepared, tmp_path)
    test = context.store.read_pandas(context.table("test_set"))
    good = payload_rows(request_records(test.head(20)), legacy=legacy)
    rejected = payload_rows(request_records(test.head(3)), status=400, legacy=legacy)
    context.store.write(PAYLOADS, pd.concat([good, rejected]), mode="append")

    first = run_task("refresh_monitoring_table", context, PARAMS)
    second = run_task("refresh_monitoring_table", context, PARAMS)
    monitoring = context.store.read_pandas(context.table("model_monitoring"))
    quarantine = context.store.read_pandas(context.table("model_monitoring_quarantine"))
    assert first["rows_appended"] == 20
    assert first["payloads_quarantined"] == 3
    assert second["rows_appended"] == 0
    assert second["payloads_quarantined"] == 0
    assert set(monitoring["databricks_request_id"]) == set(good["databricks_request_id"])
    assert set(quarantine["databricks_request_id"]) == set(rejected["databricks_request_id"])
    assert monitoring["sale_price"].notna().all()
    assert monitoring["OverallQual"].notna().all()
    assert str(monitoring["timestamp"].dt.tz) == "UTC"


def test_late_label_is_backfilled(prepared, tmp_path):
    context = fresh_context(prepared, tmp_path)
    test = context.store.read_pandas(context.table("test_set"))
    record = request_records(test.head(1))[0]
    record[ID_COLUMN] = "900001"
    features = pd.DataFrame([{ID_COLUMN: "900001", "OverallQual": 5, "GrLivArea": 1000, "GarageCars": 1}])
    context.store.merge(context.table("house_features"), features.astype({"OverallQual": "int32", "GrLivArea": "int32", "GarageCars": "int32"}), keys=[ID_COLUMN])
    context.store.write(PAYLOADS, payload_rows([record]), mode="append")

    run_task("refresh_monitoring_table", context, PARAMS)
    pending = context.store.read_pandas(context.table("model_monitoring"))
    assert pending["sale_price"].isna().all()

    label = test.head(1).assign(**{ID_COLUMN: "900001", "SalePrice": 111111.0})
    context.store.write(context.table("inference_set_normal"), label, mode="append")
    result = run_task("refresh_monitoring_table", context, PARAMS)
    labelled = context.store.read_pandas(context.table("model_monitoring"))
    assert result["labels_backfilled"] == 1
    assert len(labelled) == 1
    assert labelled["sale_price"].tolist() == [111111.0]


def test_duplicate_request_id_is_quarantined(prepared, tmp_path):
    context = fresh_context(prepared, tmp_path)
    test = context.store.read_pandas(context.table("test_set"))
    rows = payload_rows(request_records(test.head(1)))
    context.store.write(PAYLOADS, pd.concat([rows, rows, rows]), mode="append")
    result = run_task("refresh_monitoring_table", context, PARAMS)
    quarantine = context.store.read_pandas(context.table("model_monitoring_quarantine"))
    assert result["rows_appended"] == 1
    assert result["payloads_quarantined"] == 2
    assert sorted(quarantine["copy"]) == [2, 3]
