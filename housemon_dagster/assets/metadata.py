"""Metadata helpers: row counts, column schemas and markdown tables for the Dagster UI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pyarrow as pa

from housemon_dagster.core.tables import TableStore


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in schema])


def table_metadata(store: TableStore, name: str) -> dict[str, Any]:
    """Return row count, schema, version and location of a table that exists."""
    table = store.read_arrow(name)
    return {
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": column_schema(table.schema),
        "dagster/table_name": name,
        "table_version": store.version(name),
    }


def markdown_table(rows: list[Mapping[str, Any]]) -> dg.MetadataValue:
    """Render a list of dicts as a markdown table, numbers to four significant digits."""
    if not rows:
        return dg.MetadataValue.md("_no rows_")
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [_cell(row.get(h)) for h in headers]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def plain(result: Mapping[str, Any]) -> dict[str, Any]:
    """Keep scalar values of a task result as metadata and render the rest as JSON."""
    metadata: dict[str, Any] = {}
    for key, value in result.items():
        if isinstance(value, (dict, list)):
            metadata[key] = dg.MetadataValue.json(value)
        elif value is not None:
            metadata[key] = value
    return metadata
