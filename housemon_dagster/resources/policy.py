"""The declared monitor and alert, shared by both platforms."""


import dagster as dg

from housemon_dagster.core.alerting import ALERT_COLUMN, default_alert_query
from housemon_dagster.resources.base import AlertSpec, MonitorSpec, TablesResource

MONITORED_TABLE = "model_monitoring"
BASELINE_TABLE = "train_set"
ALERT_NAME = "house-prices-model-quality"


class MonitoringPolicy(dg.ConfigurableResource):
    """The declared monitor and the condition under which its alert fires.

    The alert fires when more than ``alert_percent`` percent of the latest
    ``lookback_windows`` windows have a mean absolute error above ``mae_threshold``
    dollars.
    """

    granularities: list[str] = ["30 minutes"]
    mae_threshold: float = 70000.0
    lookback_windows: int = 3
    alert_percent: float = 45.0
    assets_dir: str = "/Workspace/Shared/housemon/monitoring"

    def monitor_spec(self, tables: TablesResource) -> MonitorSpec:
        return MonitorSpec(
            table_name=tables.name(MONITORED_TABLE),
            output_schema_name=f"{tables.catalog}.{tables.schema_name}",
            assets_dir=self.assets_dir,
            granularities=tuple(self.granularities),
            baseline_table_name=tables.name(BASELINE_TABLE),
        )

    def alert_spec(self, tables: TablesResource) -> AlertSpec:
        spec = self.monitor_spec(tables)
        query = default_alert_query(
            profile_table=spec.profile_table,
            granularity=self.granularities[0],
            mae_threshold=self.mae_threshold,
            lookback_windows=self.lookback_windows,
        )
        return AlertSpec(
            display_name=ALERT_NAME,
            query_text=query,
            source_column=ALERT_COLUMN,
            operator="GREATER_THAN",
            threshold=self.alert_percent,
            empty_result_state="OK",
        )
