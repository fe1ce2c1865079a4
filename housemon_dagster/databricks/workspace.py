"""The workspace connection: a ``WorkspaceClient`` built with databricks-sdk unified auth.

``dagster_databricks.DatabricksClientResource.get_client()`` (0.29.27) raises unless a
token, OAuth or Azure credentials, or a credentials strategy are given, although the
SDK can resolve them from ``DATABRICKS_*`` variables or a ``~/.databrickscfg`` profile.
This resource passes only the fields that are set and lets the SDK resolve the rest.
"""

import logging
from typing import Any

import dagster as dg
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from pydantic import PrivateAttr

from housemon_dagster.databricks.errors import call, surface_sdk_retries

log = logging.getLogger(__name__)


class DatabricksWorkspace(dg.ConfigurableResource):
    """Connection settings; every unset field falls back to the SDK's own resolution.

    Resolution order of databricks-sdk: explicit fields, then ``DATABRICKS_HOST``,
    ``DATABRICKS_TOKEN``, ``DATABRICKS_CLIENT_ID``/``DATABRICKS_CLIENT_SECRET`` and
    the other ``DATABRICKS_*`` variables, then the profile in ``~/.databrickscfg``.
    """

    host: str | None = None
    token: str | None = None
    profile: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    auth_type: str | None = None
    """Force one SDK auth method, for example ``pat`` or ``oauth-m2m``."""
    warehouse_id: str | None = None
    """SQL warehouse for statements and alerts; empty means DATABRICKS_WAREHOUSE_ID."""
    retry_timeout_seconds: int = 300
    """How long the SDK keeps retrying HTTP 429 and 503 responses of one call."""
    attempts: int = 5
    """Attempts per call for HTTP 500, 503 and 504 responses that reach housemon."""
    backoff_seconds: float = 1.0
    """First wait between those attempts; it doubles after each one."""

    _client: WorkspaceClient | None = PrivateAttr(default=None)
    _principal: str | None = PrivateAttr(default=None)

    def _config_fields(self) -> dict[str, Any]:
        fields = {
            "host": self.host,
            "token": self.token,
            "profile": self.profile,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "auth_type": self.auth_type,
        }
        return {key: value for key, value in fields.items() if value}

    def client(self) -> WorkspaceClient:
        """Return the client, building it on first use."""
        if self._client is None:
            surface_sdk_retries()
            config = Config(
                **self._config_fields(), retry_timeout_seconds=self.retry_timeout_seconds
            )
            self._client = WorkspaceClient(config=config)
            log.info("Connected to %s with %s auth", config.host, config.auth_type)
        return self._client

    def principal(self) -> str:
        """Return the user or service principal name the client acts as."""
        if self._principal is None:
            me = self.client().current_user.me()
            self._principal = me.user_name or me.display_name or str(me.id)
        return self._principal

    def resolved_warehouse_id(self) -> str:
        import os

        warehouse = self.warehouse_id or os.environ.get("DATABRICKS_WAREHOUSE_ID", "")
        if not warehouse:
            raise dg.Failure(
                "no SQL warehouse configured; set DATABRICKS_WAREHOUSE_ID or the workspace "
                "resource's warehouse_id to the id of a running SQL warehouse"
            )
        return warehouse

    def call(self, operation: Any, *args: Any, target: str, privilege: str, **kwargs: Any) -> Any:
        """Run an SDK operation with this workspace's retry policy and error translation."""
        return call(
            operation,
            *args,
            target=target,
            privilege=privilege,
            principal=self.principal,
            attempts=self.attempts,
            backoff_seconds=self.backoff_seconds,
            **kwargs,
        )
