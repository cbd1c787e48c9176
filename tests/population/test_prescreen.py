"""`trialdesk prescreen` end to end: real OMOP data, bad input, atomic outputs (issue 3)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import SHARED

EUNOMIA = SHARED / "data" / "eunomia_synthea27nj_omop54_parquet"
TRIALDESK = Path(sys.executable).with_name("trialdesk")
pytestmark = pytest.mark.skipif(not EUNOMIA.is_dir(), reason="shared OMOP sample not present")


def prescreen(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([str(TRIALDESK), "prescreen", "--as-of", "2026-03-02", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def omop(tmp_path) -> Path:
    """A writable copy of the Eunomia sample."""
    folder = tmp_path / "omop"
    shutil.copytree(EUNOMIA, folder)
    return folder


def test_eunomia_has_nobody_in_either_cohort_and_says_why(tmp_path):
    out = tmp_path / "result.parquet"
    run = prescreen("--omop", EUNOMIA, "--out", out, "--worklist", tmp_path / "work.csv",
                    "--funnel", tmp_path / "funnel.svg")
    assert run.returncode == 0, run.stderr
    assert pq.read_table(out).num_rows == 0
    assert "0 of 28 persons have a diagnosis" in " ".join(run.stdout.split())
    assert (tmp_path / "funnel.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "work.csv").read_text().startswith('"person_id"')


def test_eunomia_forced_into_sle_is_never_eligible(tmp_path):
    out = tmp_path / "result.csv"
    run = prescreen("--omop", EUNOMIA, "--out", out, "--cohort", "SLE")
    assert run.returncode == 0, run.stderr
    rows = duckdb.read_csv(str(out)).fetchdf()
    assert len(rows) == 28
    assert not (rows["overall"] == "eligible").any()
    assert not (rows["SLE-CLASSIFICATION"] == "pass").any()
    assert rows.loc[rows["SLE-CLASSIFICATION"] != "pass", "SLE-CLASSIFICATION_reason"].notna().all()


def test_a_missing_table_is_named_and_the_old_output_kept(omop, tmp_path):
    (omop / "condition_occurrence.parquet").unlink()
    out = tmp_path / "result.parquet"
    out.write_text("old result")
    run = prescreen("--omop", omop, "--out", out)
    assert run.returncode == 2
    assert "missing table condition_occurrence" in run.stderr
    assert out.read_text() == "old result"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".result")] == []


def test_a_column_of_the_wrong_type_is_named(omop, tmp_path):
    m = pq.read_table(omop / "measurement.parquet")
    i = m.column_names.index("measurement_date")
    pq.write_table(m.set_column(i, "measurement_date", pc.cast(m["measurement_date"], pa.string())),
                   omop / "measurement.parquet")
    run = prescreen("--omop", omop, "--out", tmp_path / "r.parquet")
    assert run.returncode == 2
    assert "measurement.measurement_date" in run.stderr and "expected date" in run.stderr
    assert not (tmp_path / "r.parquet").exists()


def test_unknown_units_and_future_dates_are_counted(omop, tmp_path):
    m = pq.read_table(omop / "measurement.parquet")
    weight = pc.equal(m["measurement_concept_id"], 3025315)            # Body weight (LOINC 29463-7)
    units = pc.if_else(weight, pa.scalar("furlong"), m["unit_source_value"])
    future = pc.if_else(pc.equal(m["measurement_id"], m["measurement_id"][0]),
                        pa.scalar(pa.scalar("2027-01-01").cast(pa.date32()).as_py(), pa.date32()),
                        m["measurement_date"])
    m = m.set_column(m.column_names.index("unit_source_value"), "unit_source_value", units)
    m = m.set_column(m.column_names.index("measurement_date"), "measurement_date", future)
    pq.write_table(m, omop / "measurement.parquet")
    run = prescreen("--omop", omop, "--out", tmp_path / "r.parquet", "--cohort", "SLE")
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    assert "body weight results with no or an unknown unit" in text
    assert "1 future-dated rows in measurement (ignored)" in text


def test_a_duckdb_file_and_csv_tables_give_the_same_result(tmp_path):
    db = tmp_path / "omop.duckdb"
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    con = duckdb.connect(str(db))
    for table in EUNOMIA.glob("*.parquet"):
        con.execute(f"CREATE TABLE {table.stem} AS SELECT * FROM '{table}'")
        con.execute(f"COPY {table.stem} TO '{csv_dir / table.stem}.csv' (HEADER)")
    con.close()
    results = []
    for source in (EUNOMIA, db, csv_dir):
        out = tmp_path / f"{Path(source).stem}.parquet"
        run = prescreen("--omop", source, "--out", out, "--cohort", "SRNS")
        assert run.returncode == 0, run.stderr
        results.append(pq.read_table(out).sort_by("person_id").drop(["patient_id"]))
    assert results[0].equals(results[1]) and results[0].equals(results[2])
