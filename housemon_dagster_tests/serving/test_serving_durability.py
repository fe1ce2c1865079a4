"""Durability of the inference log: clean shutdown, kill -9 with restart, flush after a crash."""

from __future__ import annotations

import time

from housemon_dagster.local.serving import LocalEndpoint, flush
from housemon_dagster.local.serving.flush import state_dir
from housemon_dagster.local.serving.wal import encode_entry, read_segments
from housemon_dagster_tests.serving.helpers import (
    TOKEN,
    free_port,
    post_raw,
    prepare_home,
    read_inference_table,
    request_records,
)
from housemon_dagster_tests.serving.load import Load

SLOW_FLUSH = 600.0  # seconds, so nothing reaches Delta unless a flush is asked for


def _endpoint(settings, **kwargs) -> LocalEndpoint:
    return LocalEndpoint(settings, port=free_port(), token=TOKEN, **kwargs)


def _send(endpoint: LocalEndpoint, records: list[dict]) -> list[str]:
    ids = []
    for record in records:
        response = post_raw(endpoint.url, {"dataframe_records": [record]})
        assert response.status_code == 200, response.text
        ids.append(response.headers["x-request-id"])
    return ids


def _crash_under_load(endpoint: LocalEndpoint, records: list[dict]) -> tuple[list[str], list[str]]:
    """Commit some requests, then kill -9 the server mid-traffic; return both id lists."""
    committed = _send(endpoint, records[:10])
    endpoint.flush()
    with Load(endpoint.url, records, threads=4) as load:
        time.sleep(1.5)
        endpoint.kill()
    return committed, load.result.ok_ids


def test_clean_shutdown_flushes(tmp_path, trained):
    settings = prepare_home(tmp_path, trained)
    with _endpoint(settings, flush_interval=SLOW_FLUSH) as endpoint:
        ids = _send(endpoint, request_records(trained, 20))
    table = read_inference_table(settings)
    assert set(ids) <= set(table["databricks_request_id"])
    assert len(table) == len(ids)


def test_kill_recovery_on_restart(tmp_path, trained):
    settings = prepare_home(tmp_path, trained)
    records = request_records(trained, 200)
    endpoint = _endpoint(settings, workers=2, flush_interval=SLOW_FLUSH).start()
    committed, answered = _crash_under_load(endpoint, records)
    before_restart = read_inference_table(settings)
    with _endpoint(settings, workers=2) as restarted:
        restarted.flush()
    table = read_inference_table(settings)
    logged = table["databricks_request_id"]
    assert len(answered) > 20
    assert set(before_restart["databricks_request_id"]) == set(committed)
    assert set(committed + answered) - set(logged) == set()
    assert not logged.duplicated().any()
    assert list((state_dir(settings) / "wal").iterdir()) == []


def test_flush_replays_crashed_endpoint(tmp_path, trained):
    settings = prepare_home(tmp_path, trained)
    records = request_records(trained, 200)
    endpoint = _endpoint(settings, flush_interval=SLOW_FLUSH).start()
    committed, answered = _crash_under_load(endpoint, records)
    result = flush(settings, timeout=30)
    logged = read_inference_table(settings)["databricks_request_id"]
    assert result.live_workers == 0
    assert result.replayed_entries >= len(answered)
    assert set(committed + answered) - set(logged) == set()
    assert not logged.duplicated().any()


def test_wal_reader_stops_at_torn_record(tmp_path):
    entry = {"status_code": 200, "request": '{"dataframe_records": []}\n', "response": None}
    segment = tmp_path / "worker.000001.wal"
    data = encode_entry(1, entry) + encode_entry(2, entry)
    segment.write_bytes(data[:-5])
    records = list(read_segments([segment]))
    assert records == [(1, entry)]
