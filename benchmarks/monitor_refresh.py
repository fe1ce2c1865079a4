"""Time housemon's monitor refresh against Evidently and NannyML on one monitoring table.

The table has 25 house features (7 numeric, 18 categorical), a prediction and a
label, spread over 48 hourly windows, with drift in the second half. Each tool
runs in its own child process, so wall time and peak resident memory (from
``os.wait4``) are measured per run:

- housemon: a full refresh (profile, CONSECUTIVE and BASELINE drift, regression
  metrics per window), then an incremental refresh after appending one window;
- Evidently 0.7.23: ``Report([DataDriftPreset(), RegressionPreset()])`` per window
  against the baseline;
- NannyML 0.13.1: ``UnivariateDriftCalculator`` (KS, Wasserstein, chi-squared,
  Jensen-Shannon) and realized ``PerformanceCalculator`` (MAE, MSE, RMSE, MAPE)
  with hourly chunks against the baseline.

Evidently and NannyML are installed into virtual environments under
``benchmarks/.envs/`` on first use; data goes to ``benchmarks/.data/``.

    python benchmarks/monitor_refresh.py --rows 10000,100000,1000000,10000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
ENVS = ROOT / ".envs"
DATA = ROOT / ".data" / "monitor_refresh"
WINDOWS = 48
BASELINE_ROWS = 10_000
NUMERIC = [
    "LotFrontage",
    "LotArea",
    "OverallCond",
    "YearBuilt",
    "YearRemodAdd",
    "MasVnrArea",
    "TotalBsmtSF",
]
CATEGORICAL = [
    "MSZoning",
    "Street",
    "Alley",
    "LotShape",
    "LandContour",
    "Neighborhood",
    "Condition1",
    "BldgType",
    "HouseStyle",
    "RoofStyle",
    "Exterior1st",
    "Exterior2nd",
    "MasVnrType",
    "Foundation",
    "Heating",
    "CentralAir",
    "SaleType",
    "SaleCondition",
]
PEERS = {
    "evidently": ["evidently==0.7.23", "pandas<3", "pyarrow"],
    "nannyml": ["nannyml==0.13.1", "statsmodels", "pyarrow"],
}
# Both peers can send usage analytics; these variables turn that off.
QUIET = {"NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1"}
TABLE = "bench.monitoring.requests"
BASELINE = "bench.monitoring.train"


def feature_names(features: int) -> tuple[list[str], list[str]]:
    """Return (numeric, categorical) names of the first ``features`` features, mixed evenly."""
    numeric = NUMERIC[: max(1, round(features * len(NUMERIC) / 25))]
    return numeric, CATEGORICAL[: features - len(numeric)]


def make_window(rows: int, window: int, features: int, seed: int) -> Any:
    """Generate one hour of requests as an Arrow table; windows from 24 on drift."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    drifted = window >= WINDOWS // 2
    numeric, categorical = feature_names(features)
    columns: dict[str, object] = {}
    start = np.datetime64("2024-06-01T00:00:00", "us") + np.timedelta64(window, "h")
    offsets = np.sort(rng.integers(0, 3_600_000_000, rows))
    columns["timestamp"] = pa.array(
        start + offsets.astype("timedelta64[us]"), pa.timestamp("us", tz="UTC")
    )
    columns["model_name"] = pa.array(np.full(rows, "house_prices_model_fe"))
    signal = np.zeros(rows)
    for position, name in enumerate(numeric):
        values = rng.normal(
            100.0 * (position + 1) * (1.3 if drifted else 1.0), 20.0 * (position + 1), rows
        )
        columns[name] = values
        signal += values / (position + 1)
    for position, name in enumerate(categorical):
        levels = 2 + position % 12
        weights = np.linspace(1.0, 2.0 if drifted else 1.0, levels)
        codes = rng.choice(levels, rows, p=weights / weights.sum())
        columns[name] = pa.array(np.array([f"{name[:3]}{code}" for code in range(levels)])[codes])
    columns["prediction"] = 150_000 + 300 * signal + rng.normal(0, 5_000, rows)
    columns["sale_price"] = columns["prediction"] + rng.normal(
        0, 20_000 if drifted else 10_000, rows
    )
    return pa.table(columns)


def prepare(rows: int, features: int) -> Path:
    """Write the Delta table, the baseline and a Parquet copy for the peers; reuse if present."""
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT.parent))
    from housemon_dagster.local.delta_store import DeltaTableStore

    folder = DATA / f"rows{rows}_features{features}"
    if (folder / "ready").exists():
        return folder
    store = DeltaTableStore(folder / "warehouse")
    writer = None
    for window in range(WINDOWS):
        table = make_window(rows // WINDOWS, window, features, seed=window)
        store.write(TABLE, table, mode="append")
        writer = writer or pq.ParquetWriter(folder / "requests.parquet", table.schema)
        writer.write_table(table)
    writer.close()
    baseline = make_window(BASELINE_ROWS, -1, features, seed=10_000)
    baseline = baseline.drop_columns(["timestamp", "model_name"])
    store.write(BASELINE, baseline, mode="overwrite")
    pq.write_table(baseline, folder / "baseline.parquet")
    (folder / "ready").write_text("ok\n")
    return folder


def ensure_env(peer: str) -> Path:
    """Create ``benchmarks/.envs/<peer>`` with the peer's pinned packages; return its python."""
    python = ENVS / peer / "bin" / "python"
    marker = ENVS / peer / "installed.txt"
    if marker.exists() and marker.read_text().split() == PEERS[peer]:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(ENVS / peer)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS[peer]], check=True)
    marker.write_text(" ".join(PEERS[peer]) + "\n")
    return python


def run_child(command: list[str], timeout: float) -> dict[str, object]:
    """Run a child; return its JSON output, wall seconds, peak RSS in MiB and timeout flag."""
    started = time.perf_counter()
    environment = {**os.environ, **QUIET}
    with open(DATA / "child.log", "ab") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=environment)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                timed_out = True
                break
            time.sleep(0.1)
        process.returncode = os.waitstatus_to_exitcode(status)
    output = process.stdout.read().decode() if process.stdout else ""
    result: dict[str, object] = {
        "wall_seconds": time.perf_counter() - started,
        "timed_out": timed_out,
        "exit_code": process.returncode,
        "peak_mib": usage.ru_maxrss / 1024,
    }
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if lines:
        result.update(json.loads(lines[-1]))
    return result


def _progress(path: Path, done: int, started: float) -> None:
    path.write_text(json.dumps({"windows_done": done, "seconds": time.perf_counter() - started}))


def worker_housemon(folder: Path, full: bool) -> dict[str, object]:
    """Create the monitor if needed and refresh it; return the refresh's own timing."""
    sys.path.insert(0, str(ROOT.parent))
    from housemon_dagster.local.delta_store import DeltaTableStore
    from housemon_dagster.monitor import MonitorConfig, create_or_update_monitor, refresh_monitor

    store = DeltaTableStore(folder / "warehouse")
    config = MonitorConfig(
        table_name=TABLE,
        output_schema_name="bench.monitoring",
        prediction_col="prediction",
        label_col="sale_price",
        timestamp_col="timestamp",
        model_id_col="model_name",
        granularities=("1 hour",),
        baseline_table=BASELINE,
    )
    create_or_update_monitor(store, config)
    result = refresh_monitor(store, TABLE, full=full)
    if result.state != "SUCCESS":
        raise RuntimeError(f"refresh failed: {result.message}")
    return {
        "seconds": result.elapsed_seconds,
        "full": result.full,
        "windows": result.windows_recomputed,
        "rows_written": result.rows_written,
    }


def _peer_frames(folder: Path) -> tuple[object, object, list[str], list[str]]:
    import pyarrow.parquet as pq

    current = pq.read_table(folder / "requests.parquet").to_pandas(strings_to_categorical=True)
    baseline = pq.read_table(folder / "baseline.parquet").to_pandas(strings_to_categorical=True)
    numeric = [name for name in NUMERIC if name in current.columns]
    categorical = [name for name in CATEGORICAL if name in current.columns]
    return current, baseline, numeric, categorical


def worker_evidently(folder: Path, progress: Path) -> dict[str, object]:
    """Run Evidently's data drift and regression presets on every window."""
    from evidently import DataDefinition, Dataset, Regression, Report
    from evidently.presets import DataDriftPreset, RegressionPreset

    started = time.perf_counter()
    current, baseline, numeric, categorical = _peer_frames(folder)
    definition = DataDefinition(
        numerical_columns=numeric + ["prediction", "sale_price"],
        categorical_columns=categorical,
        regression=[Regression(target="sale_price", prediction="prediction")],
    )
    reference = Dataset.from_pandas(baseline, data_definition=definition)
    hours = current["timestamp"].dt.floor("h")
    for done, (_, window) in enumerate(current.groupby(hours, sort=True), start=1):
        report = Report([DataDriftPreset(), RegressionPreset()])
        report.run(
            current_data=Dataset.from_pandas(
                window.drop(columns=["timestamp", "model_name"]), data_definition=definition
            ),
            reference_data=reference,
        )
        _progress(progress, done, started)
    return {"seconds": time.perf_counter() - started}


def worker_nannyml(folder: Path, progress: Path) -> dict[str, object]:
    """Run NannyML's univariate drift and realized performance with hourly chunks."""
    import nannyml as nml

    started = time.perf_counter()
    current, baseline, numeric, categorical = _peer_frames(folder)
    baseline["timestamp"] = current["timestamp"].min() - np.timedelta64(1, "D")
    drift = nml.UnivariateDriftCalculator(
        column_names=numeric + categorical + ["prediction"],
        timestamp_column_name="timestamp",
        chunk_period="h",
        continuous_methods=["kolmogorov_smirnov", "wasserstein"],
        categorical_methods=["chi2", "jensen_shannon"],
    )
    drift.fit(baseline).calculate(current)
    _progress(progress, WINDOWS // 2, started)
    performance = nml.PerformanceCalculator(
        y_pred="prediction",
        y_true="sale_price",
        timestamp_column_name="timestamp",
        problem_type="regression",
        metrics=["mae", "mse", "rmse", "mape"],
        chunk_period="h",
    )
    performance.fit(baseline).calculate(current)
    _progress(progress, WINDOWS, started)
    return {"seconds": time.perf_counter() - started}


def append_window(folder: Path, rows: int, features: int) -> None:
    """Append window 48, one hour after the last, as a new commit."""
    sys.path.insert(0, str(ROOT.parent))
    from housemon_dagster.local.delta_store import DeltaTableStore

    table = make_window(rows // WINDOWS, WINDOWS, features, seed=WINDOWS)
    DeltaTableStore(folder / "warehouse").write(TABLE, table, mode="append")


def measure_size(rows: int, peers: list[str], timeout: float) -> dict[str, object]:
    """Run every tool on a freshly generated table of ``rows`` rows."""
    folder = fresh_data(rows, 25)
    script = [sys.executable, str(Path(__file__).resolve())]
    results: dict[str, object] = {"rows": rows}
    results["housemon_full"] = run_child(
        [*script, "--worker", "housemon-full", str(folder)], timeout
    )
    append_window(folder, rows, 25)
    results["housemon_incremental"] = run_child(
        [*script, "--worker", "housemon-incremental", str(folder)], timeout
    )
    for peer in peers:
        python = str(ensure_env(peer))
        progress = folder / f"{peer}.progress.json"
        command = [python, str(Path(__file__).resolve()), "--worker", peer, str(folder)]
        result = run_child(command, timeout)
        if progress.exists():
            result["progress"] = json.loads(progress.read_text())
        results[peer] = result
    print(json.dumps(results), flush=True)
    return results


def fresh_data(rows: int, features: int) -> Path:
    import shutil

    folder = DATA / f"rows{rows}_features{features}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return prepare(rows, features)


def measure_columns(rows: int, timeout: float) -> list[dict[str, object]]:
    """Time housemon's full refresh with 5, 15 and 25 features at ``rows`` rows."""
    script = [sys.executable, str(Path(__file__).resolve()), "--worker", "housemon-full"]
    results = []
    for features in (5, 15, 25):
        folder = fresh_data(rows, features)
        result = run_child([*script, str(folder)], timeout)
        result.update(rows=rows, features=features)
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


def _worker(name: str, folder: Path) -> None:
    progress = folder / f"{name}.progress.json"
    if name == "housemon-full":
        output = worker_housemon(folder, full=True)
    elif name == "housemon-incremental":
        output = worker_housemon(folder, full=False)
    elif name == "evidently":
        output = worker_evidently(folder, progress)
    else:
        output = worker_nannyml(folder, progress)
    print(json.dumps(output), flush=True)


def main() -> None:
    """Time every tool at every size, then print Markdown tables and save the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        default="10000,100000,1000000,10000000",
        help="comma-separated table sizes in rows",
    )
    parser.add_argument(
        "--peers",
        default="evidently,nannyml",
        help="comma-separated peers to time (evidently, nannyml); empty for none",
    )
    parser.add_argument(
        "--peer-timeout",
        type=float,
        default=900.0,
        help="seconds after which any single run is killed and reported as timed out",
    )
    parser.add_argument(
        "--column-rows",
        type=int,
        default=1_000_000,
        help="rows of the tables used to time growth with the column count; 0 skips",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("folder", nargs="?", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        _worker(arguments.worker, Path(arguments.folder))
        return

    DATA.mkdir(parents=True, exist_ok=True)
    peers = [peer for peer in arguments.peers.split(",") if peer]
    sizes = [int(float(size)) for size in arguments.rows.split(",")]
    report = {"sizes": [measure_size(size, peers, arguments.peer_timeout) for size in sizes]}
    if arguments.column_rows:
        report["columns"] = measure_columns(arguments.column_rows, arguments.peer_timeout)

    report["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report["cpus"] = os.cpu_count()
    (DATA / "results.json").write_text(json.dumps(report, indent=2))
    print(render(report))


def _seconds(result: dict[str, object]) -> str:
    if result.get("timed_out"):
        done = (result.get("progress") or {}).get("windows_done", 0)
        return f"> {result['wall_seconds']:.0f} (timed out, {done}/{WINDOWS} windows)"
    if "seconds" not in result:
        return f"failed (exit {result.get('exit_code')})"
    return f"{result['seconds']:.2f}"


def _ratio(peer: dict[str, object], ours: dict[str, object]) -> str:
    if "seconds" not in ours:
        return "n/a"
    if peer.get("timed_out"):
        return f"> {peer['wall_seconds'] / ours['seconds']:.0f}x"
    if "seconds" not in peer:
        return "n/a"
    return f"{peer['seconds'] / ours['seconds']:.1f}x"


def render(report: dict[str, object]) -> str:
    """Format the results as Markdown tables."""
    lines = [
        (
            "| rows | housemon full s | peak MiB | incremental s (share of full) | "
            "Evidently s | peak MiB | NannyML s | peak MiB | vs Evidently | vs NannyML |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in report["sizes"]:
        full, incremental = size["housemon_full"], size["housemon_incremental"]
        evidently = size.get("evidently", {})
        nannyml = size.get("nannyml", {})
        share = ""
        if "seconds" in full and "seconds" in incremental:
            share = f" ({100 * incremental['seconds'] / full['seconds']:.1f}%)"
        lines.append(
            f"| {size['rows']:,} | {_seconds(full)} | {full['peak_mib']:.0f} | "
            f"{_seconds(incremental)}{share} | {_seconds(evidently) if evidently else '-'} | "
            f"{evidently.get('peak_mib', 0):.0f} | {_seconds(nannyml) if nannyml else '-'} | "
            f"{nannyml.get('peak_mib', 0):.0f} | {_ratio(evidently, full) if evidently else '-'} | "
            f"{_ratio(nannyml, full) if nannyml else '-'} |"
        )
    if report.get("columns"):
        lines += ["", "| rows | features | housemon full s | peak MiB |", "|---|---|---|---|"]
        for result in report["columns"]:
            lines.append(
                f"| {result['rows']:,} | {result['features']} | {_seconds(result)} | "
                f"{result['peak_mib']:.0f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
