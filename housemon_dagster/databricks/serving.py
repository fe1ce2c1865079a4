"""Model Serving: deploying the alias's model version, scoring, and the inference table."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from databricks.sdk.errors import DatabricksError, NotFound
from databricks.sdk.service.serving import (
    AiGatewayConfig,
    AiGatewayInferenceTableConfig,
    EndpointCoreConfigInput,
    ServedEntityInput,
    ServingEndpointDetailed,
)

from housemon_dagster.databricks.errors import first_line, status_of
from housemon_dagster.databricks.polling import poll_until
from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster.resources.base import DeployedModel, ScoringClient, ServingResource

log = logging.getLogger(__name__)

SETTLED_STATES = ("NOT_UPDATING", "UPDATE_FAILED", "UPDATE_CANCELED")


class DatabricksScoringClient:
    """Sends ``dataframe_records`` requests through ``serving_endpoints.query``."""

    def __init__(self, workspace: DatabricksWorkspace, endpoint: str) -> None:
        self.api = workspace.client().serving_endpoints
        self.endpoint = endpoint

    def score(self, records: list[dict[str, Any]]) -> tuple[int, Any]:
        try:
            response = self.api.query(self.endpoint, dataframe_records=records)
        except DatabricksError as error:
            status = status_of(error)
            log.warning(
                "Endpoint %s returned HTTP %d: %s", self.endpoint, status, first_line(error)
            )
            return status, {"error_code": error.error_code, "message": first_line(error)}
        return 200, response.as_dict()

    def flush(self) -> None:
        # NOTE: Databricks writes inference table rows asynchronously, some time after the
        # response, and offers no call to wait for them. Rows that land after this step are
        # picked up by a later monitoring refresh.
        log.info(
            "Endpoint %s logs payloads asynchronously; rows may reach the inference table later",
            self.endpoint,
        )


class DatabricksServing(ServingResource):
    """A Model Serving endpoint with an AI Gateway inference table.

    ``deploy`` points the endpoint's served entity at the version under the alias
    (creating the endpoint with inference tables on if it does not exist) and waits
    until the endpoint is ready. A deploy of the version already served changes nothing.
    """

    workspace: dg.ResourceDependency[DatabricksWorkspace]
    catalog: str = "mlops_dev"
    schema_name: str = "house_prices"
    workload_size: str = "Small"
    scale_to_zero_enabled: bool = True
    timeout_seconds: float = 1800
    poll_interval_seconds: float = 15

    def _endpoint(self, *, missing_ok: bool = False) -> ServingEndpointDetailed | None:
        api = self.workspace.client().serving_endpoints
        try:
            return self.workspace.call(
                api.get,
                self.endpoint_name,
                pass_not_found=missing_ok,
                target=f"serving endpoint {self.endpoint_name}",
                privilege="CAN VIEW",
            )
        except NotFound:
            return None

    def _entity(self, model_name: str, version: str) -> ServedEntityInput:
        return ServedEntityInput(
            entity_name=model_name,
            entity_version=version,
            workload_size=self.workload_size,
            scale_to_zero_enabled=self.scale_to_zero_enabled,
        )

    def _alias_version(self, model_name: str, alias: str) -> str:
        api = self.workspace.client().model_versions
        found = self.workspace.call(
            api.get_by_alias,
            model_name,
            alias,
            target=f"model {model_name} alias @{alias}",
            privilege="EXECUTE",
            not_found_hint="materialize house_prices_model_fe first, which registers the model",
        )
        return str(found.version)

    def deploy(
        self, context: dg.AssetExecutionContext, *, model_name: str, alias: str
    ) -> DeployedModel:
        version = self._alias_version(model_name, alias)
        api = self.workspace.client().serving_endpoints
        target = f"serving endpoint {self.endpoint_name}"
        endpoint = self._endpoint(missing_ok=True)
        entity = self._entity(model_name, version)
        if endpoint is None:
            context.log.info("Creating %s serving %s version %s", target, model_name, version)
            self._create(entity)
            action = "created"
        elif _serves(endpoint, model_name, version):
            action = "unchanged"
        else:
            if _config_update(endpoint) == "IN_PROGRESS":
                # Databricks rejects a config update while another one is in progress.
                self._wait_until_idle(context)
            context.log.info("Updating %s to %s version %s", target, model_name, version)
            self.workspace.call(
                api.update_config,
                self.endpoint_name,
                served_entities=[entity],
                target=target,
                privilege="CAN MANAGE",
            )
            action = "updated"
        endpoint = self._wait_until_settled(context)
        return DeployedModel(
            name=model_name,
            version=version,
            endpoint=self.endpoint_name,
            details={
                "action": action,
                "ready": endpoint.state.ready.value
                if endpoint.state and endpoint.state.ready
                else None,
                "config_version": endpoint.config.config_version if endpoint.config else None,
            },
        )

    def _create(self, entity: ServedEntityInput) -> None:
        gateway = AiGatewayConfig(
            inference_table_config=AiGatewayInferenceTableConfig(
                catalog_name=self.catalog,
                schema_name=self.schema_name,
                table_name_prefix=self.endpoint_name,
                enabled=True,
            )
        )
        self.workspace.call(
            self.workspace.client().serving_endpoints.create,
            self.endpoint_name,
            config=EndpointCoreConfigInput(name=self.endpoint_name, served_entities=[entity]),
            ai_gateway=gateway,
            target=f"serving endpoint {self.endpoint_name}",
            privilege="permission to create serving endpoints",
        )

    def _wait_until_idle(self, context: dg.AssetExecutionContext) -> None:
        poll_until(
            lambda: self._endpoint(),
            _config_update,
            terminal=SETTLED_STATES,
            description=f"earlier update of serving endpoint {self.endpoint_name}",
            timeout_seconds=self.timeout_seconds,
            interval_seconds=self.poll_interval_seconds,
            log=context.log,
        )

    def _wait_until_settled(self, context: dg.AssetExecutionContext) -> ServingEndpointDetailed:
        def state_of(endpoint: ServingEndpointDetailed) -> str:
            state = endpoint.state
            update = _config_update(endpoint)
            ready = state.ready.value if state and state.ready else "NOT_READY"
            return update if update != "NOT_UPDATING" else f"NOT_UPDATING/{ready}"

        endpoint = poll_until(
            lambda: self._endpoint(),
            state_of,
            terminal=("NOT_UPDATING/READY", "UPDATE_FAILED", "UPDATE_CANCELED"),
            description=f"serving endpoint {self.endpoint_name}",
            timeout_seconds=self.timeout_seconds,
            interval_seconds=self.poll_interval_seconds,
            log=context.log,
        )
        final = state_of(endpoint)
        if final != "NOT_UPDATING/READY":
            raise dg.Failure(
                f"serving endpoint {self.endpoint_name} update ended {final}; "
                "see the served entity's build and server logs in the workspace"
            )
        return endpoint

    @contextmanager
    def client(self, context: dg.AssetExecutionContext) -> Iterator[ScoringClient]:
        context.log.info("Sending requests to serving endpoint %s", self.endpoint_name)
        yield DatabricksScoringClient(self.workspace, self.endpoint_name)

    def inference_table(self) -> str:
        """Return the AI Gateway inference table, else the legacy auto-capture table.

        Without an endpoint yet, return the name the deploy will configure.
        """
        default = f"{self.catalog}.{self.schema_name}.{self.endpoint_name}_payload"
        endpoint = self._endpoint(missing_ok=True)
        if endpoint is None:
            return default
        gateway = endpoint.ai_gateway.inference_table_config if endpoint.ai_gateway else None
        if gateway is not None and gateway.enabled and gateway.catalog_name:
            prefix = gateway.table_name_prefix or self.endpoint_name
            return f"{gateway.catalog_name}.{gateway.schema_name}.{prefix}_payload"
        legacy = endpoint.config.auto_capture_config if endpoint.config else None
        if legacy is not None and legacy.enabled:
            if legacy.state and legacy.state.payload_table and legacy.state.payload_table.name:
                return (
                    f"{legacy.catalog_name}.{legacy.schema_name}.{legacy.state.payload_table.name}"
                )
            prefix = legacy.table_name_prefix or self.endpoint_name
            return f"{legacy.catalog_name}.{legacy.schema_name}.{prefix}_payload"
        log.warning(
            "Serving endpoint %s logs no inference table; expecting %s", self.endpoint_name, default
        )
        return default


def _config_update(endpoint: ServingEndpointDetailed) -> str:
    state = endpoint.state
    return state.config_update.value if state and state.config_update else "NOT_UPDATING"


def _serves(endpoint: ServingEndpointDetailed, model_name: str, version: str) -> bool:
    entities = endpoint.config.served_entities if endpoint.config else None
    return bool(entities) and all(
        e.entity_name == model_name and str(e.entity_version) == version for e in entities
    )
