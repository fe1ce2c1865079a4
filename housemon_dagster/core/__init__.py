"""Platform-neutral logic of the monitoring loop, run the same way locally and on Databricks."""
