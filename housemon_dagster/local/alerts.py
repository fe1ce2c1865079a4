"""SQL alerts on the local platform, evaluated with Spark SQL.

Queries name tables by their three-part Unity Catalog names, so the same text
runs on Databricks. Locally each such name is bound to a temporary view over the
Delta table before the query runs.
"""


import json
import re
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg

from housemon_dagster.core.alerting import decide_state, validate_spec
from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.local.spark import LocalSparkResource
from housemon_dagster.resources.base import AlertEvaluation, AlertsResource, AlertSpec

_PART = r"(?:`[^`]+`|[A-Za-z_][\w-]*)"
TABLE_NAME = re.compile(rf"(?<![\w.`]){_PART}\.{_PART}\.{_PART}(?![\w`])")


def bind_tables(spark: Any, store: DeltaTableStore, query: str) -> str:
    """Register a view per three-part table name in ``query`` and return the rewritten text."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(0).replace("`", "")
        if not store.exists(name):
            return match.group(0)
        view = "hm_" + re.sub(r"\W", "_", name)
        store.read_spark(spark, name).createOrReplaceTempView(view)
        return view

    return TABLE_NAME.sub(replace, query)


class LocalAlerts(AlertsResource):
    """Alert definitions as JSON files under ``<home>/alerts``, evaluated with local Spark."""

    home: str
    spark: LocalSparkResource

    def _path(self, display_name: str) -> Path:
        safe_name = re.sub(r"[^\w.-]", "_", display_name)
        return Path(self.home) / "alerts" / f"{safe_name}.json"

    def upsert(self, context: dg.AssetExecutionContext, spec: AlertSpec) -> dict[str, Any]:
        """Create the alert or update it to ``spec``; an unchanged alert is left as is."""
        validate_spec(spec)
        path = self._path(spec.display_name)
        declared = asdict(spec)
        if path.is_file():
            stored = json.loads(path.read_text())
            action = "unchanged" if stored.get("spec") == declared else "updated"
            alert_id = stored["id"]
        else:
            action, alert_id = "created", f"local-{spec.display_name}"
        if action != "unchanged":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"id": alert_id, "spec": declared}, indent=2))
        context.log.info("Alert %r %s (%s)", spec.display_name, action, path)
        return {"alert_id": alert_id, "action": action, "definition": str(path)}

    def evaluate(self, context: dg.AssetExecutionContext, spec: AlertSpec) -> AlertEvaluation:
        validate_spec(spec)
        now = datetime.now(timezone.utc)
        store = DeltaTableStore(Path(self.home) / "warehouse")
        spark = self.spark.spark_session
        try:
            rows = [r.asDict() for r in spark.sql(bind_tables(spark, store, spec.query_text)).collect()]
        except Exception as error:  # noqa: BLE001 - any query failure is the ERROR state
            context.log.error("Alert %r query failed: %s", spec.display_name, error)
            message = f"query failed: {str(error).splitlines()[0]}"
            return AlertEvaluation(spec.display_name, now, None, spec.threshold, "ERROR", message)
        value, state, message = decide_state(spec, rows)
        return AlertEvaluation(spec.display_name, now, value, spec.threshold, state, message)
