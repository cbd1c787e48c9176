"""The compiled protocol gives the same result table on Spark as on DuckDB, over the same
OMOP Parquet: every criterion's outcome and reason, and the overall verdict, of every
person, with each cohort forced and unforced; and the same data-quality counts.

One local Spark session (local[2]) for the whole test session. 2,500 persons of the shared
synthetic population (1,500 from the cohort groups, 1,000 others), so that every facet
of the generator occurs while Spark's per-query overhead keeps the test to a few minutes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyspark")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

from trialdesk.population import prescreen as ps  # noqa: E402
from trialdesk.population.facts import Facts  # noqa: E402
from trialdesk.population.source import open_omop  # noqa: E402
from trialdesk.synth import write_omop  # noqa: E402
from trialdesk.synth._mix import GROUP_INDEX  # noqa: E402

from .support import DATES, describe_dates, mismatch_table  # noqa: E402

COHORT_PERSONS, OTHER_PERSONS = 1_500, 1_000
MODES = ("SLE", "SRNS", None)


@pytest.fixture(scope="session")
def spark():
    from trialdesk.population.spark import spark_session

    session = spark_session(master="local[2]", driver_memory="2g")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_omop_dir(synth_population, tmp_path_factory) -> Path:
    persons = synth_population.persons
    in_cohort = persons["group"] >= GROUP_INDEX["sle"]
    chosen = np.concatenate([persons["person_id"][in_cohort][:COHORT_PERSONS],
                             persons["person_id"][~in_cohort][:OTHER_PERSONS]])
    out = tmp_path_factory.mktemp("omop-spark")
    write_omop(synth_population.select(np.sort(chosen)), out)
    return out


@pytest.fixture(scope="session")
def engines(pop_protocol, spark_omop_dir, spark):
    """(omop, facts) per engine; one Facts each, so the fact tables are cached once per engine."""
    out = {}
    for engine in ("duckdb", "spark"):
        omop = open_omop(spark_omop_dir, backend=engine, spark=spark if engine == "spark" else None)
        out[engine] = (omop, Facts(pop_protocol, omop, DATES["as_of"]))
    return out


def _rows(protocol, omop, facts, mode) -> dict[tuple[str, str], dict]:
    table = ps.build(protocol, omop, DATES, cohort=mode, facts=facts).to_pyarrow()
    rows = {}
    for r in table.to_pylist():
        key = (r["patient_id"], r["cohort"])
        assert key not in rows, f"two rows for {key}"
        rows[key] = r
    return rows


@pytest.mark.parametrize("mode", MODES, ids=["SLE", "SRNS", "unforced"])
def test_spark_and_duckdb_agree_on_every_criterion(pop_protocol, engines, mode):
    duck = _rows(pop_protocol, *engines["duckdb"], mode)
    spark = _rows(pop_protocol, *engines["spark"], mode)
    expected = COHORT_PERSONS + OTHER_PERSONS if mode else None
    if expected:
        assert len(duck) == expected
    assert duck, "nothing screened"
    mismatches = []
    label = mode or "unforced"
    for key in sorted(set(duck) | set(spark)):
        a, b = duck.get(key), spark.get(key)
        if a is None or b is None:
            mismatches.append((key[0], label, key[1], "row", ("present" if a else "absent", None),
                               ("present" if b else "absent", None)))
            continue
        criteria = ["overall"] + [c.id for c in pop_protocol.for_cohort(key[1])]
        for c in criteria:
            reason = f"{c}_reason"
            if a[c] != b[c] or a.get(reason) != b.get(reason):
                mismatches.append((key[0], label, key[1], c, (a[c], a.get(reason)), (b[c], b.get(reason))))
    assert not mismatches, (f"{len(mismatches)} difference(s) ({describe_dates(DATES)}):\n"
                            + mismatch_table(mismatches, "DuckDB", "Spark"))


def test_spark_and_duckdb_count_the_same_data_quality_findings(engines):
    duck = ps.data_quality(engines["duckdb"][1])
    spark = ps.data_quality(engines["spark"][1])
    assert duck == spark
    assert any("future-dated" in k for k in duck)  # the generator writes some: the counts are not all zero
