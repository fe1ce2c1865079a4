"""Replayed traffic: the test set, then the skewed set, against the serving endpoint."""


import dagster as dg

from housemon_dagster.assets.metadata import markdown_table
from housemon_dagster.core.traffic import Phase, replay, request_records
from housemon_dagster.resources.base import ServingResource, TablesResource
from housemon_dagster.settings import traffic_phase_seconds

PHASE_TABLES = {"test": "test_set", "normal": "inference_set_normal", "skewed": "inference_set_skewed"}


class TrafficConfig(dg.Config):
    phases: list[str] = ["test", "skewed"]
    """Tables to replay in order: test, normal or skewed."""
    phase_seconds: float = -1
    """Duration of each phase; negative means HOUSEMON_TRAFFIC_PHASE_SECONDS (default 130)."""
    interval_seconds: float = 0.2
    """Time between the starts of two requests."""
    max_requests_per_phase: int | None = None


@dg.asset(
    group_name="traffic",
    deps=["model_serving_endpoint", "test_set", "inference_set_normal", "inference_set_skewed"],
)
def request_traffic(
    context: dg.AssetExecutionContext,
    config: TrafficConfig,
    tables: TablesResource,
    serving: ServingResource,
) -> dg.MaterializeResult:
    """Requests replayed against the endpoint, which logs each one to its inference table."""
    unknown = [p for p in config.phases if p not in PHASE_TABLES]
    if unknown:
        raise dg.Failure(f"unknown traffic phases {unknown}; use any of {list(PHASE_TABLES)}")
    seconds = config.phase_seconds if config.phase_seconds >= 0 else traffic_phase_seconds()
    store = tables.store()
    summaries = []
    with serving.client(context) as client:
        for name in config.phases:
            frame = store.read_arrow(tables.name(PHASE_TABLES[name])).to_pandas()
            phase = Phase(
                name=name,
                records=request_records(frame),
                seconds=seconds,
                interval_seconds=config.interval_seconds,
                max_requests=config.max_requests_per_phase,
            )
            context.log.info("Phase %s: %d distinct records for %.0f s", name, len(frame), seconds)
            result = replay(phase, client.score, progress=context.log.info)
            summaries.append(result.summary())
            context.log.info("Phase %s done: %s", name, result.summary())
        client.flush()
    total = sum(s["requests"] for s in summaries)
    return dg.MaterializeResult(
        metadata={
            "requests": total,
            "failed_requests": sum(s["failed"] for s in summaries),
            "phases": markdown_table(summaries),
            "inference_table": serving.inference_table(),
        }
    )
