"""A model registry on disk with versions and aliases, like Unity Catalog's.

Layout: ``<root>/<model name>/<version>/model.joblib`` plus ``meta.json``, and
``<root>/<model name>/aliases.json`` mapping alias to version.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib


class ModelNotFoundError(LookupError):
    """Raised when a model, version or alias is not registered."""


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    path: Path
    meta: dict[str, Any]


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(temporary, path)


class ModelRegistry:
    """Registers pickled models under increasing integer versions."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _model_dir(self, name: str) -> Path:
        return self.root / name

    def versions(self, name: str) -> list[int]:
        folder = self._model_dir(name)
        if not folder.is_dir():
            return []
        found = [int(p.name) for p in folder.iterdir() if p.name.isdigit()]
        return sorted(v for v in found if (folder / str(v) / "meta.json").is_file())

    def register(
        self, name: str, model: Any, *, meta: dict[str, Any], lookup: dict[str, Any] | None = None
    ) -> ModelVersion:
        """Store ``model`` as the next version; the version is visible only once complete.

        ``lookup`` (the feature lookups a Unity Catalog registry logs with the model) is
        not needed here, because the local endpoint reads ``model.lookup_columns``.
        """
        version = (self.versions(name) or [0])[-1] + 1
        folder = self._model_dir(name) / str(version)
        folder.mkdir(parents=True, exist_ok=False)
        joblib.dump(model, folder / "model.joblib")
        _write_atomically(folder / "meta.json", json.dumps(meta, indent=2, default=str))
        return ModelVersion(name, version, folder, meta)

    def aliases(self, name: str) -> dict[str, int]:
        path = self._model_dir(name) / "aliases.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def set_alias(self, name: str, alias: str, version: int) -> None:
        if version not in self.versions(name):
            raise ModelNotFoundError(f"model {name} has no version {version}")
        aliases = self.aliases(name) | {alias: version}
        _write_atomically(self._model_dir(name) / "aliases.json", json.dumps(aliases, indent=2))

    def get(self, name: str, *, alias: str | None = None, version: int | None = None) -> ModelVersion:
        """Find a version by alias or number; with neither, the newest version."""
        if alias is not None:
            if alias not in self.aliases(name):
                raise ModelNotFoundError(
                    f"model {name} has no alias {alias!r}; materialize the model asset first"
                )
            version = self.aliases(name)[alias]
        elif version is None:
            versions = self.versions(name)
            if not versions:
                raise ModelNotFoundError(
                    f"model {name} is not registered under {self.root}; "
                    "materialize the model asset first"
                )
            version = versions[-1]
        folder = self._model_dir(name) / str(version)
        if not (folder / "meta.json").is_file():
            raise ModelNotFoundError(f"model {name} has no version {version}")
        return ModelVersion(name, version, folder, json.loads((folder / "meta.json").read_text()))

    def load(self, model_version: ModelVersion) -> Any:
        return joblib.load(model_version.path / "model.joblib")
