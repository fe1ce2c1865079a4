"""Dagster resources: one interface per service, one implementation per platform."""
