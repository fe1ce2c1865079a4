"""The local model serving endpoint: MLflow scoring protocol over HTTP on loopback.

It replaces Databricks Model Serving on the local platform. It scores requests
with the deployed model version, looks features up in the online store by Id, and
logs every request and response to the AI Gateway-style inference table.
"""

from housemon_dagster.local.serving.app import create_app
from housemon_dagster.local.serving.client import EndpointClient
from housemon_dagster.local.serving.config import EndpointConfig, deploy, read_config
from housemon_dagster.local.serving.errors import ERROR_STATUS, ApiError
from housemon_dagster.local.serving.flush import FlushResult, flush
from housemon_dagster.local.serving.inference_table import INFERENCE_SCHEMA
from housemon_dagster.local.serving.lifecycle import EndpointStartError, LocalEndpoint
from housemon_dagster.local.serving.options import DEFAULT_PORT, ServerOptions

__all__ = [
    "DEFAULT_PORT",
    "ERROR_STATUS",
    "INFERENCE_SCHEMA",
    "ApiError",
    "EndpointClient",
    "EndpointConfig",
    "EndpointStartError",
    "FlushResult",
    "LocalEndpoint",
    "ServerOptions",
    "create_app",
    "deploy",
    "flush",
    "read_config",
]
