"""The services the assets need, independent of where they run.

Each class is a Dagster resource interface. ``definitions.py`` binds the local or
the Databricks implementation under the same resource key, so assets never know
which platform they run on.
"""


from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import dagster as dg

from housemon_dagster.core.tables import TableStore


class TablesResource(dg.ConfigurableResource, ABC):
    """Tables read and written by the Dagster process, named ``<catalog>.<schema>.<table>``."""

    catalog: str = "mlops_dev"
    schema_name: str = "house_prices"

    def name(self, table: str) -> str:
        return f"{self.catalog}.{self.schema_name}.{table}"

    @abstractmethod
    def store(self) -> TableStore:
        """Return a store for reads and small writes from the orchestrating process."""


class SparkTasksResource(dg.ConfigurableResource, ABC):
    """Runs a named task of ``housemon_dagster.tasks`` where the platform runs Spark work.

    Returns the task's result: a JSON-compatible dict that assets turn into metadata.
    """

    @abstractmethod
    def run(
        self, context: dg.AssetExecutionContext, task: str, params: dict[str, Any]
    ) -> dict[str, Any]: ...


class OnlineStoreResource(dg.ConfigurableResource, ABC):
    """Publishes the feature table to the low-latency store the endpoint reads."""

    @abstractmethod
    def refresh(self, context: dg.AssetExecutionContext, feature_table: str) -> dict[str, Any]: ...


class ScoringClient(Protocol):
    """A client of the serving endpoint."""

    def score(self, records: list[dict[str, Any]]) -> tuple[int, Any]:
        """Send one request in ``dataframe_records`` format; return status code and body."""
        ...

    def flush(self) -> None:
        """Block until every request that got a response is in the inference table."""
        ...


@dataclass(frozen=True)
class DeployedModel:
    name: str
    version: int | str
    endpoint: str
    details: dict[str, Any] = field(default_factory=dict)


class ServingResource(dg.ConfigurableResource, ABC):
    """The model serving endpoint and its inference table."""

    endpoint_name: str = "house-prices-model-serving-fe"

    @abstractmethod
    def deploy(
        self, context: dg.AssetExecutionContext, *, model_name: str, alias: str
    ) -> DeployedModel: ...

    @abstractmethod
    def client(self, context: dg.AssetExecutionContext) -> AbstractContextManager[ScoringClient]:
        """Open a client, starting the endpoint first where the platform runs it."""

    @abstractmethod
    def inference_table(self) -> str:
        """Return the three-part name of the table the endpoint logs payloads to."""


@dataclass(frozen=True)
class MonitorSpec:
    """The declared configuration of an InferenceLog regression monitor."""

    table_name: str
    output_schema_name: str
    assets_dir: str
    granularities: tuple[str, ...]
    baseline_table_name: str | None = None
    prediction_col: str = "prediction"
    label_col: str = "sale_price"
    timestamp_col: str = "timestamp"
    model_id_col: str = "model_name"
    problem_type: str = "regression"
    slicing_exprs: tuple[str, ...] = ()

    @property
    def profile_table(self) -> str:
        return f"{self.output_schema_name}.{self.table_name.split('.')[-1]}_profile_metrics"

    @property
    def drift_table(self) -> str:
        return f"{self.output_schema_name}.{self.table_name.split('.')[-1]}_drift_metrics"


class MonitorResource(dg.ConfigurableResource, ABC):
    """The quality monitor of a table and its metric tables."""

    @abstractmethod
    def create_or_update(
        self, context: dg.AssetExecutionContext, spec: MonitorSpec
    ) -> dict[str, Any]: ...

    @abstractmethod
    def refresh(self, context: dg.AssetExecutionContext, spec: MonitorSpec) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AlertSpec:
    """A SQL alert: a query, the column it reads and the condition that triggers it."""

    display_name: str
    query_text: str
    source_column: str
    operator: str
    threshold: float
    aggregation: str | None = None
    empty_result_state: str = "UNKNOWN"
    schedule_cron: str = "0 0/30 * * * ?"
    schedule_timezone: str = "UTC"
    notify_on_ok: bool = False


@dataclass(frozen=True)
class AlertEvaluation:
    alert_name: str
    evaluated_at: datetime
    value: float | None
    threshold: float
    state: str
    message: str


class AlertsResource(dg.ConfigurableResource, ABC):
    """SQL alerts on the metric tables."""

    @abstractmethod
    def upsert(self, context: dg.AssetExecutionContext, spec: AlertSpec) -> dict[str, Any]: ...

    @abstractmethod
    def evaluate(self, context: dg.AssetExecutionContext, spec: AlertSpec) -> AlertEvaluation: ...
