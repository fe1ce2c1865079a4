"""Local Spark through dagster-pyspark: one session per run, stopped when the run ends."""


import logging
import os
import shutil
import subprocess
import sys
from typing import Any

import dagster as dg
from dagster_pyspark import LazyPySparkResource
from pydantic import PrivateAttr

log = logging.getLogger(__name__)

LOCAL_SPARK_CONFIG: dict[str, Any] = {
    "spark.master": "local[2]",
    "spark.app.name": "housemon",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "2g",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.ansi.enabled": "false",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}


class JavaNotFoundError(RuntimeError):
    """Raised when no Java runtime is available for local Spark."""


def check_java() -> str:
    """Return the Java version line, or raise with what to install."""
    java = shutil.which("java")
    if java is None:
        raise JavaNotFoundError(
            "local Spark needs a Java runtime (JDK 17 or 21) but `java` is not on PATH; "
            "install one (for example `apt-get install openjdk-17-jdk-headless`) or set JAVA_HOME"
        )
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    return (result.stderr or result.stdout).splitlines()[0] if result.returncode == 0 else ""


class LocalSparkResource(LazyPySparkResource):
    """A lazily started local Spark session, shared by every step of a run.

    Jobs use the in-process executor, so a run starts at most one JVM; the session
    is stopped at the end of the run instead of lingering.
    """

    _owns_session: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._spark_session = None
        self._owns_session = False

    @property
    def spark_session(self) -> Any:
        if self._spark_session is None:
            from pyspark.sql import SparkSession

            # A session someone else started (a test harness, a notebook) is used but
            # not stopped at the end of the run.
            self._owns_session = SparkSession.getActiveSession() is None
            log.info("Starting local Spark (%s)", check_java() or "java")
            # Python workers must run this interpreter, which has housemon installed;
            # PySpark reads the worker interpreter from this variable only.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        return super().spark_session

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._spark_session is not None and self._owns_session:
            self._spark_session.stop()
        self._spark_session = None


def local_spark() -> LocalSparkResource:
    return LocalSparkResource(spark_config=LOCAL_SPARK_CONFIG)
