"""Training and registering the house-price model."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from housemon_dagster.core.model import train_model as fit_model
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
    registered = context.registry.register(name, model, meta=meta)
    context.registry.set_alias(name, alias, registered.version)
    context.log.info("Registered %s version %s as @%s", name, registered.version, alias)
    return {"model_name": name, "version": registered.version, "alias": alias, **model.metrics}
