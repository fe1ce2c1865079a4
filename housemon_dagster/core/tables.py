"""The table interface that task code writes against, whatever the platform."""

from __future__ import annotations

from typing import Any, Literal, Protocol

import pyarrow as pa

WriteMode = Literal["append", "overwrite"]


class TableNotFoundError(LookupError):
    """Raised when a table is read before any asset has written it."""

    def __init__(self, name: str, *, hint: str = "") -> None:
        message = f"table {name} does not exist"
        if hint:
            message = f"{message}; {hint}"
        super().__init__(message)
        self.name = name


class TableStore(Protocol):
    """Reads and writes tables named ``<catalog>.<schema>.<table>``.

    Writers accept a pyarrow Table, a pandas DataFrame or a Spark DataFrame, so task
    code can hand over whatever it computed with.
    """

    def exists(self, name: str) -> bool: ...

    def version(self, name: str) -> int | None: ...

    def read_arrow(self, name: str, *, columns: list[str] | None = None) -> pa.Table: ...

    def read_spark(self, spark: Any, name: str) -> Any: ...

    def write(
        self, name: str, data: Any, *, mode: WriteMode, description: str | None = None
    ) -> int: ...

    def merge(self, name: str, data: Any, *, keys: list[str]) -> dict[str, int]: ...

    def changes_since(self, name: str, version: int) -> pa.Table: ...


def split_name(name: str) -> tuple[str, str, str]:
    """Split a three-part table name, rejecting anything else with the expected form."""
    parts = name.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"table name {name!r} is not of the form <catalog>.<schema>.<table>")
    return parts[0], parts[1], parts[2]
