"""The inference table as an observed asset, and the sensors that keep monitoring current.

``serving_payloads_sensor`` watches the inference table and requests a monitoring
refresh once enough new payloads have arrived. Asset sensors then chain the rest:
a new ``model_monitoring`` refreshes the monitor's metric tables, new profile
metrics evaluate the alert, and a new ``house_features`` refreshes the online store.
"""

import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from housemon_dagster.jobs import (
    evaluate_alert,
    refresh_monitor_metrics,
    refresh_monitoring,
    refresh_online_store,
)
from housemon_dagster.resources.base import ServingResource, TablesResource

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

SERVING_PAYLOADS = dg.AssetKey("serving_payloads")
MONITORING_TABLES = [dg.AssetKey("model_monitoring"), dg.AssetKey("model_monitoring_quarantine")]
# A new monitoring refresh waits while any of these jobs runs. Two monitoring refreshes
# at once would parse the same new payloads twice. The merge on row keys keeps the
# table free of duplicates, but one run's commit would conflict. Waiting for a metric
# refresh also makes overlapping metric refreshes less likely.
BUSY_JOBS = ("refresh_monitoring", "monitoring_pipeline", "refresh_monitor_metrics")
IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
DATA_VERSION_TAG = "dagster/data_version"
VERSION_TAG = "housemon/inference_table_version"
NEW_ROWS_TAG = "housemon/new_payload_rows"


with warnings.catch_warnings():
    # observable_source_asset is marked beta in dagster 1.13; the warning it prints on
    # every import gives a user nothing to act on.
    warnings.simplefilter("ignore", category=dg.BetaWarning)

    @dg.observable_source_asset(
        key="serving_payloads",
        group_name="traffic",
        description="The endpoint's inference table; its data version is the table version.",
    )
    def serving_payloads(tables: TablesResource, serving: ServingResource) -> dg.DataVersion:
        version = tables.store().version(serving.inference_table())
        return dg.DataVersion(str(version if version is not None else "absent"))


@dataclass(frozen=True)
class SensorSettings:
    """When the sensors tick and when new payloads are worth a monitoring refresh.

    A refresh starts once at least ``min_new_rows`` payload rows are pending, or once
    rows have been pending for ``max_wait_seconds``, and never sooner than
    ``min_interval_seconds`` after the previous refresh was requested.
    """

    tick_seconds: int = 30
    min_interval_seconds: float = 300.0
    min_new_rows: int = 100
    max_wait_seconds: float = 900.0


def _env_number(name: str, default: float, *, minimum: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError as error:
        raise ValueError(f"{name}={text!r} is not a number; set it in seconds or rows") from error
    if value < minimum:
        raise ValueError(f"{name}={value:g} must be at least {minimum:g}")
    return value


def load_sensor_settings() -> SensorSettings:
    """Read ``HOUSEMON_SENSOR_*`` variables; unset ones keep the defaults."""
    default = SensorSettings()
    return SensorSettings(
        tick_seconds=int(
            _env_number("HOUSEMON_SENSOR_TICK_SECONDS", default.tick_seconds, minimum=1)
        ),
        min_interval_seconds=_env_number(
            "HOUSEMON_SENSOR_MIN_INTERVAL_SECONDS", default.min_interval_seconds, minimum=0
        ),
        min_new_rows=int(
            _env_number("HOUSEMON_SENSOR_MIN_NEW_ROWS", default.min_new_rows, minimum=1)
        ),
        max_wait_seconds=_env_number(
            "HOUSEMON_SENSOR_MAX_WAIT_SECONDS", default.max_wait_seconds, minimum=0
        ),
    )


@dataclass(frozen=True)
class PayloadCursor:
    """State of the payload sensor, stored as JSON in the sensor's cursor.

    Times are Unix seconds. ``requested_version`` is the table version the last
    refresh was requested for, and ``pending_rows`` counts rows appended after it, up
    to ``counted_version``. ``table_generation`` counts the times the table was
    recreated, which restarts its versions.
    """

    requested_version: int | None = None
    counted_version: int | None = None
    pending_rows: int = 0
    pending_since: float | None = None
    last_request_at: float | None = None
    table_generation: int = 0

    def run_key(self, table: str, version: int) -> str:
        """Return the run key of a refresh up to ``version``, unique across recreations."""
        if self.table_generation == 0:
            return f"{table}@{version}"
        return f"{table}#{self.table_generation}@{version}"

    @classmethod
    def parse(cls, text: str | None) -> "PayloadCursor":
        if not text:
            return cls()
        try:
            fields = json.loads(text)
            return cls(**fields)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"payload sensor cursor {text!r} is not a JSON object with the fields "
                f"{sorted(asdict(cls()))}; "
                "clear it with `dagster sensor cursor serving_payloads_sensor --delete`"
            ) from error

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def count_new_rows(tables: TablesResource, table: str, since_version: int | None) -> int:
    """Count rows inserted after ``since_version``, or all rows when it is None."""
    store = tables.store()
    if since_version is None:
        # NOTE: this reads the id column of the whole table, once per fresh cursor.
        return store.read_arrow(table, columns=["databricks_request_id"]).num_rows
    changes = store.changes_since(table, since_version)
    if "_change_type" not in changes.column_names:
        return changes.num_rows
    # delta-rs returns the change type as string_view, which has no comparison kernel.
    change_type = pc.cast(changes["_change_type"], pa.string())
    return int(pc.sum(pc.equal(change_type, "insert")).as_py() or 0)


def count_pending(cursor: PayloadCursor, version: int, new_rows: int, now: float) -> PayloadCursor:
    """Add the rows of versions after ``counted_version`` up to ``version`` to the cursor."""
    pending = cursor.pending_rows + new_rows
    since = cursor.pending_since
    if cursor.pending_rows == 0:
        # The oldest pending rows were first seen now, which starts the maximum wait.
        since = now if pending else None
    return replace(cursor, counted_version=version, pending_rows=pending, pending_since=since)


def wait_reason(cursor: PayloadCursor, settings: SensorSettings, now: float) -> str | None:
    """Return why pending rows wait for a later tick, or None when a refresh is due."""
    if cursor.pending_rows == 0:
        return f"no new payloads after table version {cursor.counted_version}"
    if cursor.last_request_at is not None:
        next_allowed = cursor.last_request_at + settings.min_interval_seconds
        if now < next_allowed:
            return (
                f"{cursor.pending_rows} rows pending; the minimum interval between refreshes "
                f"allows the next one in {next_allowed - now:.0f} s"
            )
    started = cursor.pending_since if cursor.pending_since is not None else now
    waited = now - started
    if cursor.pending_rows < settings.min_new_rows and waited < settings.max_wait_seconds:
        return (
            f"{cursor.pending_rows} rows pending, below the minimum of {settings.min_new_rows}; "
            f"the maximum wait for more ends in {settings.max_wait_seconds - waited:.0f} s"
        )
    return None


def busy_run_id(instance: dg.DagsterInstance) -> str | None:
    """Return the id of a queued or running run of ``BUSY_JOBS``, or None if there is none."""
    for job_name in BUSY_JOBS:
        runs = instance.get_runs(
            filters=dg.RunsFilter(job_name=job_name, statuses=IN_PROGRESS), limit=1
        )
        if runs:
            return runs[0].run_id
    return None


def build_payload_sensor(
    settings: SensorSettings, *, clock: Callable[[], float] = time.time
) -> dg.SensorDefinition:
    """Build the sensor that refreshes ``model_monitoring`` when payloads arrive."""

    # The run refreshes only the monitoring tables. The asset sensors start the metric
    # refresh and the alert from its materialization, so each step runs once.
    @dg.sensor(
        name="serving_payloads_sensor",
        job=refresh_monitoring,
        minimum_interval_seconds=settings.tick_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Refresh model_monitoring once enough new payloads are in the inference table.",
    )
    def serving_payloads_sensor(
        context: dg.SensorEvaluationContext, tables: TablesResource, serving: ServingResource
    ) -> dg.SensorResult:
        table = serving.inference_table()
        version = tables.store().version(table)
        cursor = PayloadCursor.parse(context.cursor)
        if version is None:
            return dg.SensorResult(skip_reason=f"inference table {table} does not exist yet")

        now = clock()
        events = []
        if cursor.counted_version is None or version != cursor.counted_version:
            cursor = _count_versions(context, tables, table, cursor, version, now)
            events.append(
                dg.AssetObservation(SERVING_PAYLOADS, tags={DATA_VERSION_TAG: str(version)})
            )

        reason = wait_reason(cursor, settings, now)
        if reason is None:
            busy = busy_run_id(context.instance)
            if busy is not None:
                reason = f"waiting for run {busy} that writes the monitoring or metric tables"
        if reason is not None:
            return dg.SensorResult(skip_reason=reason, cursor=cursor.dump(), asset_events=events)

        request = dg.RunRequest(
            run_key=cursor.run_key(table, version),
            asset_selection=MONITORING_TABLES,
            tags={VERSION_TAG: str(version), NEW_ROWS_TAG: str(cursor.pending_rows)},
        )
        context.log.info(
            "Requesting a monitoring refresh for %d new rows up to version %d of %s",
            cursor.pending_rows,
            version,
            table,
        )
        # NOTE: the sensor never requests the same version again. If this run fails, its
        # rows wait for a refresh started by new payloads or by hand.
        cursor = PayloadCursor(
            requested_version=version,
            counted_version=version,
            last_request_at=now,
            table_generation=cursor.table_generation,
        )
        return dg.SensorResult(run_requests=[request], cursor=cursor.dump(), asset_events=events)

    return serving_payloads_sensor


def _count_versions(
    context: dg.SensorEvaluationContext,
    tables: TablesResource,
    table: str,
    cursor: PayloadCursor,
    version: int,
    now: float,
) -> PayloadCursor:
    """Count the rows of the versions the cursor has not seen yet."""
    if cursor.counted_version is not None and version < cursor.counted_version:
        # The table was replaced (for example dropped and recreated), so its history
        # restarted and every row in it is new.
        # NOTE: a recreated table that reaches the counted version between two ticks looks
        # unchanged. Its rows up to that version are then not counted, but a refresh
        # still parses them.
        context.log.warning(
            "Table %s is at version %d, before the counted version %d; counting it afresh",
            table,
            version,
            cursor.counted_version,
        )
        cursor = replace(
            cursor,
            counted_version=None,
            pending_rows=0,
            pending_since=None,
            table_generation=cursor.table_generation + 1,
        )
    new_rows = count_new_rows(tables, table, cursor.counted_version)
    context.log.info(
        "Table %s: version %s -> %d, %d new rows", table, cursor.counted_version, version, new_rows
    )
    return count_pending(cursor, version, new_rows, now)


def _storage_id(instance: dg.DagsterInstance, key: dg.AssetKey, after: str | None) -> int | None:
    """Return the storage id of the latest materialization of ``key`` after the cursor."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, after_storage_id=int(after) if after else None),
        limit=1,
    ).records
    return records[0].storage_id if records else None


def _latest_storage_id(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    records = instance.fetch_materializations(key, limit=1).records
    return records[0].storage_id if records else None


def build_chain_sensor(
    *,
    upstream: str,
    downstream: str,
    job: "UnresolvedAssetJobDefinition",
    settings: SensorSettings,
) -> dg.AssetSensorDefinition:
    """Build an asset sensor that runs ``job`` once per new materialization of ``upstream``.

    It skips a materialization when ``downstream`` is already newer, or when the run
    that produced it also planned ``downstream``, as ``monitoring_pipeline`` does.
    """
    upstream_key = dg.AssetKey(upstream)
    downstream_key = dg.AssetKey(downstream)

    # Asset sensors rather than automation conditions: a sensor's run uses the job's
    # in-process executor (one Spark session per run), and its run key ties the run to
    # one materialization, so a replayed tick never starts a second run.
    @dg.asset_sensor(
        asset_key=upstream_key,
        name=f"{upstream}_sensor",
        job=job,
        minimum_interval_seconds=settings.tick_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Run {job.name} when {upstream} is materialized.",
    )
    def chain_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
        instance = context.instance
        storage_id = _storage_id(instance, upstream_key, context.cursor)
        if storage_id is None:
            return dg.SkipReason(f"no new materialization of {upstream}")
        planned = instance.get_latest_planned_materialization_info(downstream_key)
        if asset_event.run_id and planned is not None and planned.run_id == asset_event.run_id:
            return dg.SkipReason(
                f"run {asset_event.run_id} that materialized {upstream} also materializes "
                f"{downstream}"
            )
        latest = _latest_storage_id(instance, downstream_key)
        if latest is not None and latest > storage_id:
            return dg.SkipReason(f"{downstream} is newer than {upstream} already")
        context.log.info(
            "Requesting %s for materialization %d of %s", job.name, storage_id, upstream
        )
        return dg.RunRequest(
            run_key=f"{upstream}:{storage_id}",
            tags={"housemon/trigger": upstream, "housemon/trigger_storage_id": str(storage_id)},
        )

    return chain_sensor


def build_sensors(settings: SensorSettings | None = None) -> list[dg.SensorDefinition]:
    """Return every sensor of the code location, configured from the environment."""
    settings = settings or load_sensor_settings()
    return [
        build_payload_sensor(settings),
        build_chain_sensor(
            upstream="model_monitoring",
            downstream="model_monitoring_profile_metrics",
            job=refresh_monitor_metrics,
            settings=settings,
        ),
        build_chain_sensor(
            upstream="model_monitoring_profile_metrics",
            downstream="alert_evaluations",
            job=evaluate_alert,
            settings=settings,
        ),
        build_chain_sensor(
            upstream="house_features",
            downstream="online_feature_store",
            job=refresh_online_store,
            settings=settings,
        ),
    ]
