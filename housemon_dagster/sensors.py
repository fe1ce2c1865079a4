"""The inference table as an observed asset, and the sensors that keep monitoring current."""


import dagster as dg

from housemon_dagster.resources.base import ServingResource, TablesResource


@dg.observable_source_asset(
    key="serving_payloads",
    group_name="traffic",
    description="The endpoint's inference table; its data version is the table version.",
)
def serving_payloads(tables: TablesResource, serving: ServingResource) -> dg.DataVersion:
    version = tables.store().version(serving.inference_table())
    return dg.DataVersion(str(version if version is not None else "absent"))


def build_sensors() -> list[dg.SensorDefinition]:
    return []
