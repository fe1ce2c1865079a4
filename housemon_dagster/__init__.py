"""housemon: the production monitoring loop of a house-price model, as a Dagster code location."""

from housemon_dagster.definitions import defs

__all__ = ["defs"]
