"""Run the local model serving endpoint in the foreground under uvicorn.

Example::

    python -m housemon_dagster.local.serving --home .housemon --port 8765 --workers 2
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn

from housemon_dagster.local.serving.options import (
    DEFAULT_HOST,
    DEFAULT_MAX_BODY_BYTES,
    OPTIONS_VARIABLE,
    TOKEN_VARIABLE,
    ServerOptions,
    default_port,
)
from housemon_dagster.settings import ENDPOINT_NAME

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m housemon_dagster.local.serving",
        description="Serve the deployed house-price model over HTTP on loopback.",
    )
    parser.add_argument(
        "--home",
        default=os.environ.get("HOUSEMON_HOME", ".housemon"),
        help="housemon state folder with models, online store and tables "
        "(default: $HOUSEMON_HOME or ./.housemon)",
    )
    parser.add_argument("--endpoint-name", default=ENDPOINT_NAME, help="endpoint name in URLs")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="TCP port (default: $HOUSEMON_ENDPOINT_PORT or 8765)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_VARIABLE),
        help=f"require 'Authorization: Bearer TOKEN' (default: ${TOKEN_VARIABLE}; unset: no "
        f"auth). Prefer ${TOKEN_VARIABLE}, because other local users can read arguments.",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest accepted request body in bytes (default: %(default)s)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        help="seconds allowed for a request body to arrive (default: %(default)s)",
    )
    parser.add_argument(
        "--keep-alive-timeout",
        type=int,
        default=5,
        help="seconds an idle keep-alive connection stays open (default: %(default)s)",
    )
    _add_inference_log_arguments(parser)
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default: %(default)s)",
    )
    parser.add_argument("--access-log", action="store_true", help="log one line per request")
    return parser


def _add_inference_log_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--flush-interval",
        type=float,
        default=2.0,
        help="seconds between appends of logged requests to Delta (default: %(default)s)",
    )
    parser.add_argument(
        "--fsync-interval",
        type=float,
        default=0.1,
        help="seconds between fsync calls on the write-ahead log; a power loss can lose "
        "requests logged within that time, a process crash cannot (default: %(default)s)",
    )
    parser.add_argument(
        "--no-inference-log",
        action="store_true",
        help="do not log requests to the inference table (for benchmarks only)",
    )


def options_from_args(args: argparse.Namespace) -> ServerOptions:
    if args.workers < 1:
        raise SystemExit(f"--workers must be at least 1, got {args.workers}")
    if args.max_body_bytes < 1:
        raise SystemExit(f"--max-body-bytes must be positive, got {args.max_body_bytes}")
    return ServerOptions(
        home=str(args.home),
        endpoint_name=args.endpoint_name,
        host=args.host,
        port=args.port if args.port is not None else default_port(),
        workers=args.workers,
        token=args.token or None,
        max_body_bytes=args.max_body_bytes,
        request_timeout=args.request_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        flush_interval=args.flush_interval,
        fsync_interval=args.fsync_interval,
        inference_logging=not args.no_inference_log,
        log_level=args.log_level,
        access_log=args.access_log,
    )


def serve(options: ServerOptions) -> None:
    """Run uvicorn until SIGINT or SIGTERM; workers flush their logs on the way out."""
    os.environ[OPTIONS_VARIABLE] = options.to_environment()
    log.info(
        "Serving endpoint %s on http://%s:%d with %d workers (auth %s)",
        options.endpoint_name,
        options.host,
        options.port,
        options.workers,
        "on" if options.token else "off",
    )
    uvicorn.run(
        "housemon_dagster.local.serving.app:app_from_environment",
        factory=True,
        host=options.host,
        port=options.port,
        workers=options.workers,
        log_level=options.log_level,
        access_log=options.access_log,
        timeout_keep_alive=options.keep_alive_timeout,
        timeout_graceful_shutdown=options.graceful_shutdown_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = options_from_args(args)
    logging.basicConfig(
        level=options.log_level.upper(),
        format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s",
    )
    serve(options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
