"""The serving resource of the local platform: the HTTP endpoint on loopback."""


from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from housemon_dagster.local.registry import ModelRegistry
from housemon_dagster.resources.base import DeployedModel, ScoringClient, ServingResource
from housemon_dagster.settings import Settings


class LocalServing(ServingResource):
    """Deploys by writing the endpoint config; the endpoint swaps models without a restart.

    ``client`` reuses an endpoint already listening on the configured port (for
    example one started with ``housemon serve``) or starts one for the duration of
    the step and stops it afterwards.
    """

    home: str
    catalog: str = "mlops_dev"
    schema_name: str = "house_prices"
    port: int | None = None

    def _settings(self) -> Settings:
        return Settings(
            platform="local", home=Path(self.home), catalog=self.catalog, schema=self.schema_name
        )

    def inference_table(self) -> str:
        return self._settings().inference_table

    def deploy(
        self, context: dg.AssetExecutionContext, *, model_name: str, alias: str
    ) -> DeployedModel:
        from housemon_dagster.local.serving.config import deploy

        settings = self._settings()
        version = ModelRegistry(settings.home / "models").get(model_name, alias=alias)
        config = deploy(settings, version.version, model_name=model_name)
        context.log.info(
            "Endpoint %s serves %s version %d (config %d)",
            self.endpoint_name, model_name, version.version, config.config_version,
        )
        return DeployedModel(
            name=model_name,
            version=version.version,
            endpoint=self.endpoint_name,
            details={"config_version": config.config_version, "served_entity": config.served_entity_id},
        )

    @contextmanager
    def client(self, context: dg.AssetExecutionContext) -> Iterator[ScoringClient]:
        from housemon_dagster.local.serving.lifecycle import LocalEndpoint

        endpoint = LocalEndpoint.attach_or_start(self._settings(), port=self.port)
        action = "Attached to" if endpoint.attached else "Started"
        context.log.info("%s the endpoint on %s", action, endpoint.url)
        with endpoint, endpoint.client() as client:
            yield client
