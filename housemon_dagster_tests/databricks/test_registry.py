"""The Unity Catalog registry's calls, checked against stand-ins for mlflow and the
Feature Engineering client, which are not installed here."""

import sys
import types
from contextlib import contextmanager

import pandas as pd
import pytest

from housemon_dagster.databricks.registry import UnityCatalogRegistry


@pytest.fixture
def calls(monkeypatch):
    recorded: dict = {}

    class PythonModel:
        pass

    @contextmanager
    def start_run(run_name):
        yield types.SimpleNamespace(info=types.SimpleNamespace(run_id="run-1"))

    class MlflowClient:
        def search_model_versions(self, query):
            recorded["search"] = query
            return [types.SimpleNamespace(version="1"), types.SimpleNamespace(version="4")]

        def set_registered_model_alias(self, name, alias, version):
            recorded["alias"] = (name, alias, version)

    pyfunc = types.SimpleNamespace(
        PythonModel=PythonModel,
        log_model=lambda **kwargs: recorded.setdefault("pyfunc_log", kwargs),
    )
    mlflow = types.SimpleNamespace(
        set_registry_uri=lambda uri: recorded.setdefault("registry_uri", uri),
        start_run=start_run,
        log_metrics=lambda metrics: recorded.setdefault("metrics", metrics),
        log_artifact=lambda path: recorded.setdefault("artifact", path),
        pyfunc=pyfunc,
        MlflowClient=MlflowClient,
    )
    monkeypatch.setitem(sys.modules, "mlflow", mlflow)
    monkeypatch.setitem(sys.modules, "mlflow.pyfunc", pyfunc)

    class FeatureLookup:
        def __init__(self, **kwargs):
            recorded["lookup"] = kwargs

    class FeatureEngineeringClient:
        def create_training_set(self, **kwargs):
            recorded["training_set"] = kwargs
            return "training-set"

        def log_model(self, **kwargs):
            recorded["fe_log"] = kwargs

    feature_engineering = types.ModuleType("databricks.feature_engineering")
    feature_engineering.FeatureEngineeringClient = FeatureEngineeringClient
    feature_engineering.FeatureLookup = FeatureLookup
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", feature_engineering)

    spark = types.SimpleNamespace(createDataFrame=lambda frame: ("spark", len(frame)))
    session = types.SimpleNamespace(getActiveSession=lambda: spark)
    monkeypatch.setattr("pyspark.sql.SparkSession", session)
    return recorded


def test_lookups_logged_with_model(calls):
    registry = UnityCatalogRegistry()
    lookup = {
        "feature_table": "c.s.house_features",
        "lookup_key": "Id",
        "feature_names": ["OverallQual", "GrLivArea", "GarageCars"],
        "label": "SalePrice",
        "train": pd.DataFrame({"Id": ["1", "2"], "SalePrice": [1.0, 2.0]}),
    }
    registered = registry.register("c.s.m", object(), meta={"metrics": {"mae": 1}}, lookup=lookup)
    assert calls["registry_uri"] == "databricks-uc"
    assert calls["lookup"] == {
        "table_name": "c.s.house_features",
        "lookup_key": "Id",
        "feature_names": ["OverallQual", "GrLivArea", "GarageCars"],
    }
    assert calls["training_set"]["label"] == "SalePrice"
    assert calls["training_set"]["df"] == ("spark", 2)
    assert calls["fe_log"]["training_set"] == "training-set"
    assert calls["fe_log"]["registered_model_name"] == "c.s.m"
    assert registered.version == 4


def test_without_lookups_logs_pyfunc(calls):
    UnityCatalogRegistry().register("c.s.m", object(), meta={})
    assert calls["pyfunc_log"]["registered_model_name"] == "c.s.m"
    assert "fe_log" not in calls


def test_alias_points_at_version(calls):
    UnityCatalogRegistry().set_alias("c.s.m", "latest-model", 4)
    assert calls["alias"] == ("c.s.m", "latest-model", "4")
