"""An emulator of the Databricks REST contract on 127.0.0.1, for tests only.

It serves the endpoints housemon's Databricks platform calls, with state machines
like the real services' ones, and it does the work for real on this machine.
Submitted runs execute the entry point in a subprocess with local Spark. SQL
statements run in DuckDB over a local Delta warehouse. Monitor refreshes run
housemon's monitor engine. The serving endpoint scores with the registered model
and logs each request to an AI Gateway inference table.
"""

from housemon_dagster_tests.databricks.emulator.server import Emulator, Fault

__all__ = ["Emulator", "Fault"]
