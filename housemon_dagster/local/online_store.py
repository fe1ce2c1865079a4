"""The online feature store: snapshots of the feature table, keyed by primary key.

A refresh writes ``<root>/<table>/v<N>.parquet`` and then points ``CURRENT`` at it
with an atomic rename, so a reader never sees a half-written snapshot. Readers
poll ``current_version`` to pick up refreshes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class OnlineStoreError(LookupError):
    """Raised when the online store has never been refreshed for a table."""


class OnlineStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _folder(self, table: str) -> Path:
        return self.root / table

    def current_version(self, table: str) -> int | None:
        pointer = self._folder(table) / "CURRENT"
        return int(pointer.read_text().strip()) if pointer.is_file() else None

    def refresh(self, table: str, features: pa.Table, *, source_version: int) -> int:
        """Publish a snapshot of ``features`` taken at feature table version ``source_version``."""
        folder = self._folder(table)
        folder.mkdir(parents=True, exist_ok=True)
        snapshot = folder / f"v{source_version}.parquet"
        temporary = folder / f".v{source_version}.parquet.tmp"
        pq.write_table(features, temporary)
        os.replace(temporary, snapshot)
        pointer_tmp = folder / ".CURRENT.tmp"
        pointer_tmp.write_text(str(source_version))
        os.replace(pointer_tmp, folder / "CURRENT")
        return features.num_rows

    def load(self, table: str, *, key: str) -> tuple[int, pd.DataFrame]:
        """Return the current snapshot's version and its rows indexed by ``key``."""
        version = self.current_version(table)
        if version is None:
            raise OnlineStoreError(
                f"online store for {table} is empty; materialize online_feature_store first"
            )
        frame = pq.read_table(self._folder(table) / f"v{version}.parquet").to_pandas()
        return version, frame.set_index(key)
