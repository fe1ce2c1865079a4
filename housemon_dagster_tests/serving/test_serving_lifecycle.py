"""Endpoint lifecycle: attaching, start-up failures, port settings and the command line."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from housemon_dagster.local.registry import ModelNotFoundError
from housemon_dagster.local.serving import EndpointStartError, LocalEndpoint, deploy
from housemon_dagster.local.serving.__main__ import build_parser, options_from_args
from housemon_dagster.settings import Settings
from housemon_dagster_tests.serving.helpers import TOKEN, free_port


def test_attach_reuses_running_endpoint(shared_endpoint):
    attached = LocalEndpoint.attach_or_start(
        shared_endpoint.settings, port=shared_endpoint.port, token=shared_endpoint.token
    )
    attached.stop()
    assert attached.attached
    assert attached.process is None
    assert httpx.get(f"{shared_endpoint.url}/health").status_code == 200


def test_start_without_deployment_names_port_and_log(tmp_path):
    settings = replace(Settings(), home=tmp_path)
    port = free_port()
    endpoint = LocalEndpoint(settings, port=port, startup_timeout=60.0, not_ready_grace=1.0)
    with pytest.raises(EndpointStartError) as raised:
        endpoint.start()
    message = str(raised.value)
    assert f"port {port}" in message
    assert str(endpoint.log_path) in message
    assert "no model is deployed" in message
    assert endpoint.process.poll() is not None


def test_start_on_busy_port_fails(shared_endpoint):
    endpoint = LocalEndpoint(
        shared_endpoint.settings, port=shared_endpoint.port, startup_timeout=20.0
    )
    with pytest.raises(EndpointStartError) as raised:
        endpoint.start()
    assert f"port {shared_endpoint.port}" in str(raised.value)


def test_port_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HOUSEMON_ENDPOINT_PORT", "9123")
    endpoint = LocalEndpoint(replace(Settings(), home=tmp_path))
    assert endpoint.port == 9123


def test_invalid_port_variable_rejected(monkeypatch, tmp_path):
    monkeypatch.setenv("HOUSEMON_ENDPOINT_PORT", "http")
    with pytest.raises(ValueError, match="HOUSEMON_ENDPOINT_PORT"):
        LocalEndpoint(replace(Settings(), home=tmp_path))


def test_deploy_unknown_version_rejected(tmp_path):
    with pytest.raises(ModelNotFoundError):
        deploy(replace(Settings(), home=tmp_path), 3)


def test_command_line_options(tmp_path):
    args = build_parser().parse_args(
        ["--home", str(tmp_path), "--port", "9001", "--workers", "3", "--max-body-bytes", "1000"]
    )
    options = options_from_args(args)
    assert options.port == 9001
    assert options.workers == 3
    assert options.max_body_bytes == 1000
    assert options.host == "127.0.0.1"


def test_attach_rejects_other_home(shared_endpoint, tmp_path):
    other = Settings(home=tmp_path / "other-home")
    with pytest.raises(EndpointStartError, match="serves the housemon home"):
        LocalEndpoint.attach_or_start(other, port=shared_endpoint.port)


def test_attach_accepts_same_home(shared_endpoint):
    attached = LocalEndpoint.attach_or_start(
        shared_endpoint.settings, port=shared_endpoint.port, token=TOKEN
    )
    assert attached.attached
