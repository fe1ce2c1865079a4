"""The Databricks platform: the same assets against a workspace through databricks-sdk."""
