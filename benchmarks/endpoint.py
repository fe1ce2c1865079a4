"""Benchmark the local serving endpoint against MLflow's own scoring server.

Run from the repository root with the project's virtual environment active::

    python benchmarks/endpoint.py [--seconds 6] [--workers 2]

It trains the house-price model on the bundled data, serves it three ways on
127.0.0.1 and measures throughput and latency at 1, 8 and 32 concurrent clients with
1-record and 100-record requests:

- ``mlflow``: ``mlflow models serve --env-manager local`` on the same scikit-learn
  pipeline, from a virtual environment this script creates under
  ``benchmarks/.envs/mlflow`` (MLflow from PyPI, scikit-learn, pandas and numpy
  pinned to this environment's versions so the pickled pipeline loads);
- ``housemon-nolog``: the housemon endpoint with inference logging off;
- ``housemon``: the housemon endpoint as deployed, logging every request.

MLflow serves the bare pipeline, so its requests carry all 29 pipeline inputs (the 28
features plus ``house_age``). The housemon endpoint receives 26 columns and looks 3
up in the online store for every request.

The load generator is a minimal asyncio HTTP/1.1 client with one keep-alive
connection per simulated client, so it spends little CPU of its own. It still shares
the machine with the servers. Every run is bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import httpx
import joblib
import numpy as np
import pyarrow as pa
from deltalake import DeltaTable

from housemon_dagster.core.model import house_age, train_model
from housemon_dagster.core.preprocessing import clean, split
from housemon_dagster.core.schema import (
    CATEGORICAL_FEATURES,
    ID_COLUMN,
    LOOKUP_FEATURES,
    NUMERIC_FEATURES,
)
from housemon_dagster.core.source import load_source
from housemon_dagster.local.online_store import OnlineStore
from housemon_dagster.local.registry import ModelRegistry
from housemon_dagster.local.serving import LocalEndpoint, deploy
from housemon_dagster.local.serving.flush import inference_table_path
from housemon_dagster.local.serving.inference_log import InferenceLogger
from housemon_dagster.settings import ENDPOINT_NAME, Settings

ROOT = Path(__file__).resolve().parent
MLFLOW_ENV = ROOT / ".envs" / "mlflow"
DATA_DIR = ROOT / ".data" / "endpoint"
MLFLOW_VERSION = "3.17.2"
CONCURRENCY = (1, 8, 32)
BATCH_SIZES = (1, 100)
BODIES_PER_SCENARIO = 50
HOST = "127.0.0.1"

SAVE_MLFLOW_MODEL = """
import sys, joblib, pandas as pd, mlflow.sklearn
pipeline = joblib.load(sys.argv[1])
example = pd.read_json(sys.argv[3], orient="records")
# The pipeline was trained by this script, so its tree storage type is trusted.
mlflow.sklearn.save_model(
    pipeline, sys.argv[2], input_example=example, skops_trusted_types=["sklearn.tree._tree.Tree"]
)
"""


@dataclass(frozen=True)
class Scenario:
    server: str
    clients: int
    batch: int


@dataclass
class Measurement:
    server: str
    clients: int
    batch: int
    requests: int
    sent: int
    errors: int
    seconds: float
    requests_per_second: float
    records_per_second: float
    p50_ms: float
    p99_ms: float
    load_average: float
    server_cpu_ms_per_request: float = 0.0


def ensure_mlflow_env() -> Path:
    """Create the MLflow virtual environment once; return its ``mlflow`` executable."""
    executable = MLFLOW_ENV / "bin" / "mlflow"
    if executable.exists():
        return executable
    subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_ENV)], check=True)
    pins = [f"{name}=={metadata.version(name)}" for name in ("scikit-learn", "pandas", "numpy")]
    pip = [str(MLFLOW_ENV / "bin" / "pip"), "install", "--quiet", f"mlflow=={MLFLOW_VERSION}"]
    subprocess.run(pip + pins, check=True)
    return executable


def prepare(data_dir: Path) -> tuple[Settings, list[dict], list[dict]]:
    """Train, register, publish features and deploy; return settings and request rows."""
    source, _ = load_source(None)
    frame = clean(source)
    train, test = split(frame)
    features = frame[[ID_COLUMN, *LOOKUP_FEATURES]]
    model = train_model(train, test, features)
    settings = replace(Settings(), home=data_dir / "home")
    registry = ModelRegistry(settings.home / "models")
    version = registry.register(settings.model_full_name, model, meta={"source": "benchmark"})
    table = pa.Table.from_pandas(features.reset_index(drop=True), preserve_index=False)
    OnlineStore(settings.home / "online").refresh(
        settings.table("house_features"), table, source_version=1
    )
    deploy(settings, version.version)
    joblib.dump(model.pipeline, data_dir / "pipeline.joblib")
    housemon_rows = json.loads(test[list(model.request_columns)].to_json(orient="records"))
    model_frame = test[NUMERIC_FEATURES + CATEGORICAL_FEATURES].assign(
        house_age=house_age(test["YearBuilt"])
    )
    mlflow_rows = json.loads(model_frame.to_json(orient="records"))
    return settings, housemon_rows, mlflow_rows


def save_mlflow_model(data_dir: Path, mlflow_rows: list[dict]) -> Path:
    model_dir = data_dir / "mlflow-model"
    if model_dir.exists():
        subprocess.run(["rm", "-rf", str(model_dir)], check=True)
    example = data_dir / "example.json"
    example.write_text(json.dumps(mlflow_rows[:5]))
    python = str(MLFLOW_ENV / "bin" / "python")
    script = [python, "-c", SAVE_MLFLOW_MODEL, str(data_dir / "pipeline.joblib")]
    subprocess.run(script + [str(model_dir), str(example)], check=True)
    return model_dir


def bodies(rows: list[dict], batch: int) -> list[bytes]:
    result = []
    for index in range(BODIES_PER_SCENARIO):
        start = (index * batch) % max(1, len(rows) - batch)
        result.append(json.dumps({"dataframe_records": rows[start : start + batch]}).encode())
    return result


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readuntil(b"\r\n")
    length = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _client(
    port: int, path: str, payloads: list[bytes], offset: int, stop_at: float, record_from: float
) -> tuple[list[float], int, int]:
    reader, writer = await asyncio.open_connection(HOST, port)
    latencies: list[float] = []
    errors = 0
    sent = 0
    index = offset
    while time.perf_counter() < stop_at:
        body = payloads[index % len(payloads)]
        index += 1
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        writer.write(head + body)
        status = await _read_response(reader)
        sent += 1
        if started >= record_from:
            latencies.append(time.perf_counter() - started)
            errors += status != 200
    writer.close()
    return latencies, errors, sent


async def _measure(
    port: int, path: str, payloads: list[bytes], clients: int, warmup: float, seconds: float
) -> tuple[list[float], int, int, float]:
    now = time.perf_counter()
    record_from, stop_at = now + warmup, now + warmup + seconds
    tasks = [
        _client(port, path, payloads, offset, stop_at, record_from) for offset in range(clients)
    ]
    results = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - record_from
    latencies = [value for result in results for value in result[0]]
    errors = sum(result[1] for result in results)
    sent = sum(result[2] for result in results)
    return latencies, errors, sent, elapsed


def run_scenario(
    scenario: Scenario, port: int, path: str, rows: list[dict], *, warmup: float, seconds: float
) -> Measurement:
    payloads = bodies(rows, scenario.batch)
    latencies, errors, sent, elapsed = asyncio.run(
        _measure(port, path, payloads, scenario.clients, warmup, seconds)
    )
    millis = np.array(latencies) * 1000.0
    count = len(latencies)
    measurement = Measurement(
        server=scenario.server,
        clients=scenario.clients,
        batch=scenario.batch,
        requests=count,
        sent=sent,
        errors=errors,
        seconds=round(elapsed, 2),
        requests_per_second=round(count / elapsed, 1),
        records_per_second=round(count * scenario.batch / elapsed, 1),
        p50_ms=round(float(np.percentile(millis, 50)), 2),
        p99_ms=round(float(np.percentile(millis, 99)), 2),
        load_average=round(os.getloadavg()[0], 2),
    )
    return measurement


def start_mlflow(model_dir: Path, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    command = [
        str(MLFLOW_ENV / "bin" / "mlflow"),
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "-h",
        HOST,
        "-p",
        str(port),
        "-w",
        str(workers),
    ]
    # MLflow launches ``uvicorn`` through the shell, so its environment must come first.
    environment = dict(os.environ, VIRTUAL_ENV=str(MLFLOW_ENV))
    environment["PATH"] = f"{MLFLOW_ENV / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow models serve exited early; see {log_path}")
        try:
            if httpx.get(f"http://{HOST}:{port}/ping", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_process(process)
    raise RuntimeError(f"mlflow models serve was not ready within 120 s; see {log_path}")


def stop_process(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@dataclass(frozen=True)
class Target:
    server: str
    port: int
    path: str
    rows: list[dict]
    pid: int


def tree_cpu_seconds(root: int) -> float:
    """Return user plus system CPU seconds of process ``root`` and its descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # Fields after the command name, which is in parentheses and may contain spaces.
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / ticks
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0.0) for pid in tree)


def run_interleaved(targets: list[Target], args: argparse.Namespace) -> list[Measurement]:
    """Run every scenario on every server back to back, so load from other processes
    on the machine affects all servers alike."""
    results = []
    for _ in range(args.rounds):
        for batch in BATCH_SIZES:
            for clients in CONCURRENCY:
                for target in targets:
                    scenario = Scenario(target.server, clients, batch)
                    cpu_before = tree_cpu_seconds(target.pid)
                    measurement = run_scenario(
                        scenario,
                        target.port,
                        target.path,
                        target.rows,
                        warmup=args.warmup,
                        seconds=args.seconds,
                    )
                    cpu = tree_cpu_seconds(target.pid) - cpu_before
                    measurement.server_cpu_ms_per_request = round(
                        1000.0 * cpu / max(1, measurement.sent), 3
                    )
                    print(json.dumps(asdict(measurement)), flush=True)
                    results.append(measurement)
    return results


def compare_predictions(port_a: int, path_a: str, rows_a: list, port_b: int, rows_b: list) -> float:
    """Return the largest absolute difference between the two servers' predictions."""
    body_a = {"dataframe_records": rows_a[:100]}
    body_b = {"dataframe_records": rows_b[:100]}
    first = httpx.post(f"http://{HOST}:{port_a}{path_a}", json=body_a).json()["predictions"]
    second = httpx.post(f"http://{HOST}:{port_b}/invocations", json=body_b).json()["predictions"]
    return float(np.max(np.abs(np.array(first) - np.array(second))))


def measure_logging_cost(rows: list[dict], entries: int = 5000) -> dict[str, float]:
    """Measure the inference log's CPU time in-process: ``log`` calls, then the Delta append.

    CPU time of this process (all threads) is used instead of wall time, so load from
    other processes on the machine does not inflate the figures.
    """
    folder = DATA_DIR / "logging-cost"
    if folder.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    logger = InferenceLogger(
        folder / "state", folder / "table", worker_id="benchmark", flush_interval=3600
    )
    logger.start()
    response = json.dumps({"predictions": [123456.789]})
    requests = [json.dumps({"dataframe_records": [row]}) for row in rows]
    started = time.process_time()
    for index in range(entries):
        logger.log(
            {
                "request_time": time.time_ns() // 1000,
                "databricks_request_id": f"request-{index}",
                "client_request_id": None,
                "status_code": 200,
                "sampling_fraction": 1.0,
                "execution_duration_ms": 8,
                "request": requests[index % len(requests)],
                "response": response,
                "served_entity_id": "house_prices_model_fe-1",
                "logging_error_codes": [],
                "requester": HOST,
            }
        )
    logged = time.process_time()
    logger.flush(timeout=120)
    flushed = time.process_time()
    logger.close()
    return {
        "entries": entries,
        "log_cpu_us_per_entry": round((logged - started) * 1e6 / entries, 1),
        "delta_append_cpu_us_per_entry": round((flushed - logged) * 1e6 / entries, 1),
    }


def markdown_table(results: list[Measurement]) -> str:
    """Format results as rows of clients, batch, then throughput and latency per server."""
    servers = list(dict.fromkeys(result.server for result in results))
    header = "| clients | records/request | " + " | ".join(
        f"{server} req/s | p50 ms | p99 ms | CPU ms/req" for server in servers
    )
    lines = [header + " |", "|" + "---|" * (2 + 4 * len(servers))]
    for batch in BATCH_SIZES:
        for clients in CONCURRENCY:
            cells = [str(clients), str(batch)]
            for server in servers:
                matching = [
                    r
                    for r in results
                    if r.server == server and r.clients == clients and r.batch == batch
                ]
                cells.append(f"{np.median([r.requests_per_second for r in matching]):.1f}")
                cells.append(f"{np.median([r.p50_ms for r in matching]):.1f}")
                cells.append(f"{np.median([r.p99_ms for r in matching]):.1f}")
                cpu = np.median([r.server_cpu_ms_per_request for r in matching])
                cells.append(f"{cpu:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_servers(
    settings: Settings,
    model_dir: Path,
    housemon_rows: list[dict],
    mlflow_rows: list[dict],
    args: argparse.Namespace,
) -> tuple[list[Measurement], float, dict, dict[str, float]]:
    """Start the three servers, check they agree, run the matrix and stop them.

    Returns the measurements, the largest prediction difference between MLflow and
    housemon, the final flush result and each server's CPU seconds over the run.
    """
    path = f"/serving-endpoints/{ENDPOINT_NAME}/invocations"
    mlflow = start_mlflow(model_dir, args.port, args.workers, DATA_DIR / "mlflow.log")
    nolog = LocalEndpoint(
        settings, port=args.port + 1, workers=args.workers, inference_logging=False
    )
    logging_on = LocalEndpoint(settings, port=args.port + 2, workers=args.workers)
    try:
        with nolog, logging_on:
            difference = compare_predictions(
                nolog.port, path, housemon_rows, args.port, mlflow_rows
            )
            targets = [
                Target("mlflow", args.port, "/invocations", mlflow_rows, mlflow.pid),
                Target("housemon-nolog", nolog.port, path, housemon_rows, nolog.process.pid),
                Target("housemon", logging_on.port, path, housemon_rows, logging_on.process.pid),
            ]
            cpu_start = {target.server: tree_cpu_seconds(target.pid) for target in targets}
            results = run_interleaved(targets, args)
            flushed = logging_on.flush(timeout=120)
            cpu_total = {
                target.server: tree_cpu_seconds(target.pid) - cpu_start[target.server]
                for target in targets
            }
    finally:
        stop_process(mlflow)
    return results, difference, flushed, cpu_total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--port", type=int, default=18765, help="first of three TCP ports")
    parser.add_argument("--rounds", type=int, default=1, help="repetitions of the whole matrix")
    args = parser.parse_args(argv)

    ensure_mlflow_env()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if (DATA_DIR / "home").exists():
        subprocess.run(["rm", "-rf", str(DATA_DIR / "home")], check=True)
    settings, housemon_rows, mlflow_rows = prepare(DATA_DIR)
    model_dir = save_mlflow_model(DATA_DIR, mlflow_rows)

    results, difference, flushed, cpu_total = run_servers(
        settings, model_dir, housemon_rows, mlflow_rows, args
    )
    logged = DeltaTable(str(inference_table_path(settings))).to_pyarrow_table(
        columns=["status_code"]
    )
    sent = sum(result.sent for result in results if result.server == "housemon")
    logging_cost = measure_logging_cost(housemon_rows)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "python": platform.python_version(),
        "mlflow": MLFLOW_VERSION,
        "workers": args.workers,
        "seconds": args.seconds,
        "max_prediction_difference": difference,
        "logged_rows": logged.num_rows,
        "sent_with_logging": sent,
        "flush": flushed,
        "logging_cost": logging_cost,
        # Whole-run server CPU per request, including background appends to Delta.
        "server_cpu_ms_per_request": {
            server: round(1000.0 * seconds / sum(r.sent for r in results if r.server == server), 3)
            for server, seconds in cpu_total.items()
        },
        "results": [asdict(result) for result in results],
    }
    (DATA_DIR / "results.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({key: value for key, value in report.items() if key != "results"}))
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
