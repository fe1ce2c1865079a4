"""Source data to the training and test sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from housemon_dagster.core.preprocessing import clean, split
from housemon_dagster.core.source import load_source
from housemon_dagster.tasks import TaskContext


def prepare_data(context: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Load and check the source, then overwrite ``train_set`` and ``test_set``.

    Overwriting keeps re-runs from duplicating rows; the split is seeded, so the
    same source gives the same sets.
    """
    source_csv = params.get("source_csv")
    frame, origin = load_source(Path(source_csv) if source_csv else None)
    context.log.info("Loaded %d sales from %s", len(frame), origin)
    train, test = split(clean(frame))
    context.store.write(
        context.table("train_set"), train, mode="overwrite", description="Training sales, 80%"
    )
    context.store.write(
        context.table("test_set"), test, mode="overwrite", description="Test sales, 20%"
    )
    context.log.info("Wrote %d training and %d test rows", len(train), len(test))
    return {
        "source": origin,
        "source_rows": len(frame),
        "train_rows": len(train),
        "test_rows": len(test),
        "train_version": context.store.version(context.table("train_set")),
        "test_version": context.store.version(context.table("test_set")),
        "mean_sale_price": float(frame["SalePrice"].mean()),
    }
