"""Settings read from the environment, shared by every platform.

Every variable has a default, so a plain checkout runs on the local platform with
state under ``./.housemon``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PLATFORMS = ("local", "databricks")

MODEL_NAME = "house_prices_model_fe"
MODEL_ALIAS = "latest-model"
ENDPOINT_NAME = "house-prices-model-serving-fe"


class SettingsError(ValueError):
    """Raised when an environment variable holds a value housemon cannot use."""


@dataclass(frozen=True)
class Settings:
    platform: str = "local"
    home: Path = field(default_factory=lambda: Path(".housemon").resolve())
    catalog: str = "mlops_dev"
    schema: str = "house_prices"
    source_csv: Path | None = None

    def table(self, name: str) -> str:
        """Return the three-part Unity Catalog name of table ``name``."""
        return f"{self.catalog}.{self.schema}.{name}"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    @property
    def model_full_name(self) -> str:
        return self.table(MODEL_NAME)

    @property
    def inference_table(self) -> str:
        return self.table(f"{ENDPOINT_NAME}_payload")


def _identifier(variable: str, default: str) -> str:
    value = os.environ.get(variable, default).strip()
    if not value or not value.replace("_", "").isalnum():
        raise SettingsError(
            f"{variable}={value!r} is not a valid catalog or schema name; "
            "use letters, digits and underscores only"
        )
    return value


def load_settings() -> Settings:
    """Read ``HOUSEMON_*`` variables and check them, naming the variable at fault."""
    platform = os.environ.get("HOUSEMON_PLATFORM", "local").strip().lower()
    if platform not in PLATFORMS:
        raise SettingsError(
            f"HOUSEMON_PLATFORM={platform!r} is not supported; set it to one of {PLATFORMS}"
        )
    source = os.environ.get("HOUSEMON_SOURCE_CSV", "").strip()
    return Settings(
        platform=platform,
        home=Path(os.environ.get("HOUSEMON_HOME", ".housemon")).expanduser().resolve(),
        catalog=_identifier("HOUSEMON_CATALOG", "mlops_dev"),
        schema=_identifier("HOUSEMON_SCHEMA", "house_prices"),
        source_csv=Path(source).expanduser().resolve() if source else None,
    )
