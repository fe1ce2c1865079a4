"""Source data, the training and test sets, the inference sets and the feature table."""


import dagster as dg

from housemon_dagster.assets.metadata import markdown_table, plain, table_metadata
from housemon_dagster.resources.base import OnlineStoreResource, SparkTasksResource, TablesResource


class SourceConfig(dg.Config):
    source_csv: str | None = None
    """Path of a Kaggle-format CSV; empty means HOUSEMON_SOURCE_CSV, else the bundled Ames data."""


@dg.multi_asset(
    specs=[
        dg.AssetSpec("train_set", group_name="source", description="80% of the sales, cleaned"),
        dg.AssetSpec("test_set", group_name="source", description="20% of the sales, cleaned"),
    ],
)
def source_sets(
    context: dg.AssetExecutionContext,
    config: SourceConfig,
    tables: TablesResource,
    spark_tasks: SparkTasksResource,
):
    """Load and check the source data, then write the seeded 80/20 split."""
    import os

    source = config.source_csv or os.environ.get("HOUSEMON_SOURCE_CSV") or None
    result = spark_tasks.run(context, "prepare_data", {"source_csv": source})
    store = tables.store()
    for key in ("train_set", "test_set"):
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={**table_metadata(store, tables.name(key)), "source": result["source"]},
        )


class InferenceSetsConfig(dg.Config):
    normal_rows: int = 1000
    skewed_rows: int = 1000
    skew_factors: dict[str, float] = {"OverallQual": 1.5, "GrLivArea": 2.0}
    """Numeric feature -> factor its values are multiplied by in the skewed set."""
    seed: int = 7


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "inference_set_normal",
            group_name="inference_data",
            deps=["train_set"],
            description="Resampled training rows: traffic that looks like training data",
        ),
        dg.AssetSpec(
            "inference_set_skewed",
            group_name="inference_data",
            deps=["train_set"],
            description="Resampled training rows with drifted features",
        ),
    ],
)
def inference_sets(
    context: dg.AssetExecutionContext,
    config: InferenceSetsConfig,
    tables: TablesResource,
    spark_tasks: SparkTasksResource,
):
    params = {"config": config.model_dump()}
    result = spark_tasks.run(context, "create_inference_sets", params)
    store = tables.store()
    importance = [{"feature": k, "importance": v} for k, v in result["feature_importance"].items()]
    shifts = [{"feature": k, **v} for k, v in result["skew"].items()]
    for key in ("inference_set_normal", "inference_set_skewed"):
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **table_metadata(store, tables.name(key)),
                "first_id": result["first_id"],
                "last_id": result["last_id"],
                "generation": result["generation"],
                "feature_importance": markdown_table(importance),
                "skew": markdown_table(shifts),
            },
        )


@dg.asset(
    group_name="features",
    deps=["train_set", "test_set", "inference_set_normal", "inference_set_skewed"],
)
def house_features(
    context: dg.AssetExecutionContext, tables: TablesResource, spark_tasks: SparkTasksResource
) -> dg.MaterializeResult:
    """Feature table keyed by Id (OverallQual, GrLivArea, GarageCars), upserted so no Id repeats."""
    result = spark_tasks.run(context, "update_feature_table", {})
    metadata = table_metadata(tables.store(), tables.name("house_features"))
    return dg.MaterializeResult(metadata={**metadata, **plain(result)})


@dg.asset(group_name="features", deps=["house_features"])
def online_feature_store(
    context: dg.AssetExecutionContext,
    tables: TablesResource,
    online_store: OnlineStoreResource,
) -> dg.MaterializeResult:
    """Publish house_features to the online store, where the endpoint looks features up by Id."""
    result = online_store.refresh(context, tables.name("house_features"))
    return dg.MaterializeResult(metadata=plain(result))
