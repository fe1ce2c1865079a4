"""The registered model and the serving endpoint."""


import dagster as dg

from housemon_dagster.assets.metadata import plain
from housemon_dagster.resources.base import ServingResource, SparkTasksResource, TablesResource
from housemon_dagster.settings import MODEL_ALIAS, MODEL_NAME


@dg.asset(group_name="model", deps=["train_set", "test_set", "house_features"])
def house_prices_model_fe(
    context: dg.AssetExecutionContext, tables: TablesResource, spark_tasks: SparkTasksResource
) -> dg.MaterializeResult:
    """Gradient boosting on one-hot categoricals, features looked up by Id, plus house_age.

    Each materialization registers a new version and moves the alias to it.
    """
    result = spark_tasks.run(
        context, "train_model", {"model_name": tables.name(MODEL_NAME), "alias": MODEL_ALIAS}
    )
    return dg.MaterializeResult(metadata=plain(result))


@dg.asset(group_name="model", deps=["house_prices_model_fe", "online_feature_store"])
def model_serving_endpoint(
    context: dg.AssetExecutionContext, tables: TablesResource, serving: ServingResource
) -> dg.MaterializeResult:
    """The serving endpoint, updated to serve the model version under the alias."""
    deployed = serving.deploy(context, model_name=tables.name(MODEL_NAME), alias=MODEL_ALIAS)
    return dg.MaterializeResult(
        metadata={
            "endpoint": deployed.endpoint,
            "model": deployed.name,
            "version": str(deployed.version),
            "inference_table": serving.inference_table(),
            **plain(deployed.details),
        }
    )
