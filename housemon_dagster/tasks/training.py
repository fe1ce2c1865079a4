"""Training and registering the house-price model."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from housemon_dagster.core.model import train_model as fit_model
from housemon_dagster.core.schema import TARGET_COLUMN
from housemon_dagster.tasks import TaskContext


def train_model(context: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Fit with features looked up by Id, register a new version and point the alias at it."""
    store = context.store
    train = store.read_arrow(context.table("train_set")).to_pandas()
    test = store.read_arrow(context.table("test_set")).to_pandas()
    features = store.read_arrow(context.table("house_features")).to_pandas()
    model = fit_model(train, test, features)
    context.log.info("Trained on %d rows; test metrics %s", len(train), model.metrics)
    name, alias = params["model_name"], params["alias"]
    meta = {
        "trained_at": datetime.now(timezone.utc).isoformat(),
        "train_rows": len(train),
        "train_set_version": store.version(context.table("train_set")),
        "feature_table_version": store.version(context.table("house_features")),
        "metrics": model.metrics,
    }
    # Serving looks these features up by Id; the request carries the other columns.
    request_columns = list(model.request_columns)
    lookup = {
        "feature_table": context.table("house_features"),
        "lookup_key": model.lookup_key,
        "feature_names": model.lookup_columns,
        "label": TARGET_COLUMN,
        "train": train[[*request_columns, TARGET_COLUMN]],
    }
    registered = context.registry.register(name, model, meta=meta, lookup=lookup)
    context.registry.set_alias(name, alias, registered.version)
    context.log.info("Registered %s version %s as @%s", name, registered.version, alias)
    return {"model_name": name, "version": registered.version, "alias": alias, **model.metrics}
