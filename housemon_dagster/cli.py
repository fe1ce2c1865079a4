"""The ``housemon`` command line: monitors, the local endpoint and the state report.

``housemon monitor refresh|show <catalog.schema.table>`` works on a local monitor,
``housemon serve`` runs the local serving endpoint in the foreground and
``housemon report`` prints tables, windows and the alert state.

Tables live under ``<home>/warehouse``, where home is ``--home``, else
``$HOUSEMON_HOME``, else ``./.housemon``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from housemon_dagster.core.tables import TableNotFoundError, split_name
from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.monitor.engine import refresh_monitor
from housemon_dagster.monitor.registry import MonitorNotFoundError, get_monitor

log = logging.getLogger(__name__)


def _home(value: str | None) -> Path:
    return Path(value or os.environ.get("HOUSEMON_HOME") or ".housemon").resolve()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="housemon", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    monitor = commands.add_parser("monitor", help="refresh or show a table's quality monitor")
    actions = monitor.add_subparsers(dest="action", required=True)
    refresh = actions.add_parser("refresh", help="recompute the profile and drift metric tables")
    refresh.add_argument("table", help="monitored table, as <catalog>.<schema>.<table>")
    refresh.add_argument(
        "--full", action="store_true", help="recompute every window instead of the changed ones"
    )
    show = actions.add_parser("show", help="print the monitor's configuration and state as JSON")
    show.add_argument("table", help="monitored table, as <catalog>.<schema>.<table>")
    for command in (refresh, show):
        command.add_argument(
            "--home",
            help="housemon home holding warehouse/ (default: $HOUSEMON_HOME, else ./.housemon)",
        )
    commands.add_parser(
        "serve",
        help="run the local serving endpoint in the foreground (see housemon serve --help)",
        add_help=False,
    )
    commands.add_parser("report", help="print tables, monitoring windows and the alert state")
    return parser


def _check_table(store: DeltaTableStore, table: str) -> str | None:
    try:
        split_name(table)
    except ValueError as error:
        return str(error)
    if not store.exists(table):
        return (
            f"table {table} not found under {store.warehouse}; "
            "check the name, or pass --home (or set HOUSEMON_HOME) to the housemon home"
        )
    return None


def _refresh(store: DeltaTableStore, table: str, full: bool) -> int:
    result = refresh_monitor(store, table, full=full)
    print(
        f"{result.state}: {'full' if result.full else 'incremental'} refresh of {table} "
        f"at table version {result.table_version}, {result.windows_recomputed} windows, "
        f"{result.profile_rows_written} profile and {result.drift_rows_written} drift rows "
        f"in {result.elapsed_seconds:.2f} s"
    )
    if result.state != "SUCCESS":
        print(f"error: {result.message}", file=sys.stderr)
        return 1
    print(f"profile metrics: {result.profile_table}")
    print(f"drift metrics: {result.drift_table}")
    return 0


def _show(store: DeltaTableStore, table: str) -> int:
    info = get_monitor(store, table)
    if info is None:
        raise MonitorNotFoundError(table)
    details = info.to_dict()
    config = info.config
    for key, name in (("profile_table", config.profile_table), ("drift_table", config.drift_table)):
        details[key] = {"name": name, "version": store.version(name)}
    print(json.dumps(details, indent=2, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        from housemon_dagster.local.serving.__main__ import main as serve

        return serve(argv[1:])
    arguments = _parser().parse_args(argv)
    if arguments.command == "report":
        from housemon_dagster.report import main as report

        return report()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = DeltaTableStore(_home(arguments.home) / "warehouse")
    problem = _check_table(store, arguments.table)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        if arguments.action == "refresh":
            return _refresh(store, arguments.table, arguments.full)
        return _show(store, arguments.table)
    except (MonitorNotFoundError, TableNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
