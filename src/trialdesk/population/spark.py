"""A Spark session configured for trialdesk (local by default, a cluster on request).

Known traps, measured here: Spark binds to the machine's public address unless
SPARK_LOCAL_IP is set; driver memory must be set before the JVM starts; the
SQL warehouse directory must be writable (a temporary one is used). Ibis 12
supports pyspark < 4.1.

A local session is tuned for the compiled protocol's plan, which is wide rather
than big: about a hundred small per-person tables joined onto ``person``.
Adaptive query execution re-optimises that whole plan after every stage and runs
each stage as its own job; with it off, the 10,000-person wide table is built in
half the time (measured: 22 s against 45 s on local[2]). Without it, joins on
cached tables whose size is not known yet stay sort-merge joins, several of them
pipelined in one task, each sorter taking a memory page: pages of 4 MB (default
up to 64 MB) keep that within the heap (64 MB pages ran out of memory on 2,000
persons). Shuffles are small: one partition per core. A cluster session keeps
adaptive execution and 8 shuffle partitions. Arrow makes ``toPandas`` (Ibis's
``to_pyarrow`` on Spark) columnar.
"""

from __future__ import annotations

import os
import re
import tempfile


def _local_cores(master: str) -> int | None:
    """Cores of a ``local``, ``local[N]`` or ``local[*]`` master (None for a cluster)."""
    m = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    if m is None:
        return None
    if m.group(1) is None:  # "local": one thread
        return 1
    return (os.cpu_count() or 1) if m.group(1) == "*" else int(m.group(1))


def spark_session(master: str | None = None, remote: str | None = None, driver_memory: str = "4g"):
    """A SparkSession: ``remote`` (Spark Connect, sc://...), else ``master`` (default local[*])."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    if remote:
        return SparkSession.builder.remote(remote).getOrCreate()
    master = master or "local[*]"
    cores = _local_cores(master)
    warehouse = tempfile.mkdtemp(prefix="trialdesk-spark-")
    builder = (SparkSession.builder.master(master)
               .appName("trialdesk-prescreen")
               .config("spark.driver.memory", driver_memory)
               .config("spark.sql.warehouse.dir", warehouse)
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    if cores is None:
        return builder.config("spark.sql.shuffle.partitions", "8").getOrCreate()
    return (builder.config("spark.sql.shuffle.partitions", str(cores))
            .config("spark.sql.adaptive.enabled", "false")
            .config("spark.buffer.pageSize", "4m")
            .getOrCreate())
