"""A Spark session configured for trialdesk (local by default, a cluster on request).

Known traps, measured here: Spark binds to the machine's public address unless
SPARK_LOCAL_IP is set; driver memory must be set before the JVM starts; the
SQL warehouse directory must be writable (a temporary one is used). Ibis 12
supports pyspark < 4.1.
"""

from __future__ import annotations

import os
import tempfile


def spark_session(master: str | None = None, remote: str | None = None, driver_memory: str = "4g"):
    """A SparkSession: ``remote`` (Spark Connect, sc://...), else ``master`` (default local[*])."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    if remote:
        return SparkSession.builder.remote(remote).getOrCreate()
    warehouse = tempfile.mkdtemp(prefix="trialdesk-spark-")
    return (SparkSession.builder.master(master or "local[*]")
            .appName("trialdesk-prescreen")
            .config("spark.driver.memory", driver_memory)
            .config("spark.sql.warehouse.dir", warehouse)
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "8")
            .getOrCreate())
