"""Monitor configuration, mirroring the fields of Databricks Lakehouse Monitoring monitors.

A monitor's configuration and its refresh state are stored as JSON beside the
monitored table, at ``<warehouse>/<catalog>/<schema>/<table>.monitor.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from housemon_dagster.core.tables import split_name
from housemon_dagster.monitor.windows import parse_granularity

ProfileType = Literal["InferenceLog", "TimeSeries", "Snapshot"]
ProblemType = Literal["regression", "classification"]
MetricType = Literal["aggregate", "derived", "drift"]

PROFILE_TYPES = ("InferenceLog", "TimeSeries", "Snapshot")
PROBLEM_TYPES = ("regression", "classification")
METRIC_TYPES = ("aggregate", "derived", "drift")
TABLE_COLUMN = ":table"
OUTPUT_TYPES = {
    "double": "double",
    "float": "double",
    "bigint": "bigint",
    "long": "bigint",
    "int": "bigint",
    "integer": "bigint",
    "string": "string",
    "boolean": "boolean",
}
# Built-in metric names that a custom metric may not shadow.
RESERVED_NAMES = frozenset(
    {"window", "log_type", "granularity", "slice_key", "slice_value", "column_name", "count"}
)


class MonitorConfigError(ValueError):
    """Raised when a monitor configuration is invalid; the message names the field."""


@dataclass(frozen=True)
class CustomMetric:
    """A SQL metric written as an extra output column, like the SDK's ``MonitorMetric``.

    ``definition`` is a SQL expression. Aggregate metrics are aggregates over raw
    rows and may use ``{{input_column}}`` for each column in ``input_columns``
    (``":table"`` for one table-level value). Derived metrics combine aggregate
    metrics of the same profile row by name. Drift metrics compare two profile rows
    through ``{{current_df}}.<metric>`` and ``{{base_df}}.<metric>``.
    """

    name: str
    definition: str
    input_columns: tuple[str, ...]
    output_data_type: str = "double"
    type: MetricType = "aggregate"

    @property
    def output_type(self) -> str:
        """Return the Spark SQL type name of the metric's column."""
        raw = self.output_data_type.strip()
        if raw.startswith("{"):
            raw = str(json.loads(raw).get("type", "double"))
        return OUTPUT_TYPES[raw.lower()]


@dataclass(frozen=True)
class MonitorConfig:
    """A monitor's table, profile type, columns, windows, slices and metrics (JSON via to_dict)."""

    table_name: str
    output_schema_name: str
    profile_type: ProfileType = "InferenceLog"
    problem_type: ProblemType | None = "regression"
    prediction_col: str | None = None
    label_col: str | None = None
    timestamp_col: str | None = None
    model_id_col: str | None = None
    granularities: tuple[str, ...] = ("1 day",)
    slicing_exprs: tuple[str, ...] = ()
    baseline_table: str | None = None
    custom_metrics: tuple[CustomMetric, ...] = ()

    def __post_init__(self) -> None:
        validate(self)

    @property
    def profile_table(self) -> str:
        return f"{self.output_schema_name}.{split_name(self.table_name)[2]}_profile_metrics"

    @property
    def drift_table(self) -> str:
        return f"{self.output_schema_name}.{split_name(self.table_name)[2]}_drift_metrics"

    @property
    def key_columns(self) -> tuple[str, ...]:
        """Return the columns that define windows and groups rather than being profiled."""
        keys = [self.timestamp_col, self.model_id_col]
        return tuple(key for key in keys if key)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["granularities"] = list(self.granularities)
        data["slicing_exprs"] = list(self.slicing_exprs)
        data["custom_metrics"] = [asdict(metric) for metric in self.custom_metrics]
        for metric in data["custom_metrics"]:
            metric["input_columns"] = list(metric["input_columns"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitorConfig:
        values = dict(data)
        values["granularities"] = tuple(values.get("granularities", ("1 day",)))
        values["slicing_exprs"] = tuple(values.get("slicing_exprs", ()))
        metrics = []
        for metric in values.get("custom_metrics", ()):
            metric = dict(metric)
            metric["input_columns"] = tuple(metric.get("input_columns", (TABLE_COLUMN,)))
            metrics.append(CustomMetric(**metric))
        values["custom_metrics"] = tuple(metrics)
        return cls(**values)


def validate(config: MonitorConfig) -> None:
    """Raise ``MonitorConfigError`` naming the first invalid field of ``config``."""
    split_name(config.table_name)
    if len(config.output_schema_name.split(".")) != 2:
        raise MonitorConfigError(
            f"output_schema_name {config.output_schema_name!r} is not of the form "
            "<catalog>.<schema>"
        )
    if config.profile_type not in PROFILE_TYPES:
        raise MonitorConfigError(
            f"profile_type {config.profile_type!r} is invalid; use one of {PROFILE_TYPES}"
        )
    if config.profile_type != "Snapshot" and not config.timestamp_col:
        raise MonitorConfigError(f"{config.profile_type} monitors need timestamp_col")
    if config.profile_type == "InferenceLog":
        _validate_inference(config)
    for granularity in config.granularities:
        try:
            parse_granularity(granularity)
        except ValueError as error:
            raise MonitorConfigError(str(error)) from error
    if config.baseline_table:
        split_name(config.baseline_table)
    _validate_metrics(config.custom_metrics)


def _validate_inference(config: MonitorConfig) -> None:
    if config.problem_type not in PROBLEM_TYPES:
        raise MonitorConfigError(
            f"problem_type {config.problem_type!r} is invalid; use one of {PROBLEM_TYPES}"
        )
    for name in ("prediction_col", "model_id_col"):
        if not getattr(config, name):
            raise MonitorConfigError(f"InferenceLog monitors need {name}")


def _validate_metrics(metrics: tuple[CustomMetric, ...]) -> None:
    seen: set[str] = set()
    for metric in metrics:
        if not metric.name.isidentifier() or metric.name in RESERVED_NAMES:
            raise MonitorConfigError(
                f"custom metric name {metric.name!r} is invalid; use an unused identifier"
            )
        if metric.name in seen:
            raise MonitorConfigError(f"custom metric name {metric.name!r} is used twice")
        seen.add(metric.name)
        if metric.type not in METRIC_TYPES:
            raise MonitorConfigError(
                f"custom metric {metric.name} has type {metric.type!r}; use one of {METRIC_TYPES}"
            )
        if not metric.input_columns:
            raise MonitorConfigError(
                f"custom metric {metric.name} needs input_columns, for example [':table']"
            )
        try:
            _ = metric.output_type
        except (KeyError, ValueError) as error:
            raise MonitorConfigError(
                f"custom metric {metric.name} has output_data_type "
                f"{metric.output_data_type!r}; use one of {sorted(OUTPUT_TYPES)}"
            ) from error


@dataclass
class MonitorState:
    """The table version and slice values of the last successful refresh."""

    monitor_version: int
    table_version: int
    slice_values: dict[str, list[str | None]] = field(default_factory=dict)


@dataclass
class MonitorInfo:
    """A stored monitor: its configuration, version and refresh state."""

    config: MonitorConfig
    monitor_version: int
    state: MonitorState | None = None

    @property
    def table_name(self) -> str:
        return self.config.table_name

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "monitor_version": self.monitor_version,
            "state": asdict(self.state) if self.state else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitorInfo:
        state = data.get("state")
        return cls(
            config=MonitorConfig.from_dict(data["config"]),
            monitor_version=int(data["monitor_version"]),
            state=MonitorState(**state) if state else None,
        )
