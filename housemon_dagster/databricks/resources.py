"""Tables and the online feature store on Databricks."""

import logging
from typing import Any

import dagster as dg
from databricks.sdk.errors import NotFound

from housemon_dagster.databricks.errors import DatabricksNotFoundError
from housemon_dagster.databricks.polling import poll_until
from housemon_dagster.databricks.sql import WarehouseTableStore
from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster.resources.base import OnlineStoreResource, TablesResource

log = logging.getLogger(__name__)

PIPELINE_TERMINAL_STATES = ("COMPLETED", "FAILED", "CANCELED")


class DatabricksTables(TablesResource):
    """Unity Catalog tables, read and written from Dagster through a SQL warehouse."""

    workspace: dg.ResourceDependency[DatabricksWorkspace]

    def store(self) -> WarehouseTableStore:
        return WarehouseTableStore(self.workspace)


class DatabricksOnlineStore(OnlineStoreResource):
    """Refreshes the synced table (or legacy online table) that serves the feature table.

    The online table is named ``online_table`` or, when that is empty,
    ``<feature table>_online``. A refresh starts an update of its sync pipeline and
    waits for COMPLETED, failing on FAILED, CANCELED or the timeout.
    """

    workspace: dg.ResourceDependency[DatabricksWorkspace]
    online_table: str | None = None
    timeout_seconds: float = 1800
    poll_interval_seconds: float = 10

    def _pipeline(self, name: str) -> tuple[str, str]:
        """Return the sync pipeline id and the kind of online table it serves."""
        client = self.workspace.client()
        privilege = "SELECT and USE on the online table"
        try:
            synced = self.workspace.call(
                client.database.get_synced_database_table,
                name,
                pass_not_found=True,
                target=f"synced table {name}",
                privilege=privilege,
            )
            status = synced.data_synchronization_status
            if status is not None and status.pipeline_id:
                return status.pipeline_id, "synced table"
        except NotFound:
            log.info("No synced table %s; looking for a legacy online table", name)
        try:
            online = self.workspace.call(
                client.online_tables.get,
                name,
                pass_not_found=True,
                target=f"online table {name}",
                privilege=privilege,
            )
        except NotFound as error:
            raise DatabricksNotFoundError(
                target=f"synced table {name}",
                detail=str(error).splitlines()[0],
                hint="create a synced table of the feature table (the bundle's "
                "house_features_online resource does) or set online_table",
            ) from error
        if online.spec is None or not online.spec.pipeline_id:
            raise dg.Failure(
                f"online table {name} has no sync pipeline yet; retry once it is provisioned"
            )
        return online.spec.pipeline_id, "online table"

    def refresh(self, context: dg.AssetExecutionContext, feature_table: str) -> dict[str, Any]:
        name = self.online_table or f"{feature_table}_online"
        pipeline_id, kind = self._pipeline(name)
        pipelines = self.workspace.client().pipelines
        started = self.workspace.call(
            pipelines.start_update,
            pipeline_id,
            target=f"sync pipeline {pipeline_id} of {kind} {name}",
            privilege="CAN RUN",
        )
        context.log.info(
            "Started update %s of the sync pipeline of %s %s", started.update_id, kind, name
        )
        description = f"update {started.update_id} of the sync pipeline of {name}"
        response = poll_until(
            lambda: self.workspace.call(
                pipelines.get_update,
                pipeline_id,
                started.update_id,
                target=f"sync pipeline {pipeline_id}",
                privilege="CAN VIEW",
            ),
            lambda r: r.update.state.value if r.update and r.update.state else "UNKNOWN",
            terminal=PIPELINE_TERMINAL_STATES,
            description=description,
            timeout_seconds=self.timeout_seconds,
            interval_seconds=self.poll_interval_seconds,
            log=context.log,
        )
        state = response.update.state.value
        if state != "COMPLETED":
            raise dg.Failure(f"{description} ended {state}; see the pipeline's event log")
        return {
            "online_table": name,
            "kind": kind,
            "pipeline_id": pipeline_id,
            "update_id": started.update_id,
            "state": state,
        }
