"""write_omop(): Eunomia's columns and types, loadable in DuckDB, every concept in concept,
streamed chunks equal to the materialised population, files written atomically."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from synth_fixtures import population  # noqa: F401 - fixture
from trialdesk.synth import SynthParams, generate, write_fhir, write_omop
from trialdesk.synth._omop import SCHEMAS

EUNOMIA = Path(__file__).resolve().parents[3] / "shared" / "data" / "eunomia_synthea27nj_omop54_parquet"
TABLES = ("person", "observation_period", "condition_occurrence", "drug_exposure", "procedure_occurrence",
          "measurement", "observation", "concept")


@pytest.fixture(scope="module")
def omop(population, tmp_path_factory):
    out = tmp_path_factory.mktemp("omop")
    sub = population.select(population.persons["person_id"][:1500])
    paths = write_omop(sub, out)
    return sub, out, paths


def test_one_file_per_table_and_no_temporary_left(omop):
    _, out, paths = omop
    assert set(paths) == set(TABLES)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.parquet" for t in TABLES)


@pytest.mark.skipif(not EUNOMIA.is_dir(), reason="shared Eunomia sample not available")
def test_columns_and_types_as_in_eunomia(omop):
    _, out, _ = omop
    for table in TABLES:
        ours = pq.read_schema(out / f"{table}.parquet")
        theirs = pq.read_schema(EUNOMIA / f"{table}.parquet")
        extra = ["value_as_datetime"] if table == "observation" else []  # docs/omop-mapping.md, ResearchSubject
        assert ours.names == theirs.names + extra, table
        for field in theirs:
            assert ours.field(field.name).type == field.type, (table, field.name)


def test_documented_schemas(omop):
    _, out, _ = omop
    for table in TABLES:
        assert pq.read_schema(out / f"{table}.parquet").equals(SCHEMAS[table], check_metadata=False)


def test_loads_in_duckdb_with_the_rows_generated(omop):
    pop, out, _ = omop
    rows = pop.rows()
    con = duckdb.connect()
    count = lambda t: con.sql(f"select count(*) from '{out / t}.parquet'").fetchone()[0]  # noqa: E731
    assert count("person") == count("observation_period") == len(pop)
    assert count("measurement") == rows["measurements"]
    assert count("condition_occurrence") == rows["conditions"]
    assert count("procedure_occurrence") == rows["procedures"]
    assert count("drug_exposure") == rows["drugs"] + rows["immunizations"]
    assert count("observation") == sum(rows[t] for t in ("attestations", "assessments", "components", "allergies",
                                                         "consents", "studies"))
    for table, key in (("measurement", "measurement_id"), ("drug_exposure", "drug_exposure_id"),
                       ("observation", "observation_id"), ("condition_occurrence", "condition_occurrence_id")):
        assert con.sql(f"select count(distinct {key}) = count(*) from '{out / table}.parquet'").fetchone()[0]


def test_every_concept_used_is_in_the_concept_table(omop):
    _, out, _ = omop
    con = duckdb.connect()
    used = {"measurement": ("measurement_concept_id", "measurement_source_concept_id", "value_as_concept_id"),
            "condition_occurrence": ("condition_concept_id", "condition_source_concept_id"),
            "drug_exposure": ("drug_concept_id", "drug_source_concept_id", "drug_type_concept_id"),
            "procedure_occurrence": ("procedure_concept_id", "procedure_source_concept_id"),
            "observation": ("observation_concept_id", "observation_source_concept_id", "value_as_concept_id"),
            "person": ("gender_concept_id",)}
    concept = f"'{out}/concept.parquet'"
    for table, cols in used.items():
        for col in cols:
            missing = con.sql(f"select count(*) from '{out / table}.parquet' where {col} <> 0 and {col} "
                              f"not in (select concept_id from {concept})").fetchone()[0]
            assert missing == 0, (table, col)
    custom = con.sql(f"select min(concept_id), count(*) filter (where concept_code not like '%#%') "
                     f"from {concept} where vocabulary_id = 'trialdesk'").fetchone()
    assert custom[0] >= 2_000_000_000 and custom[1] == 0
    assert con.sql(f"select max(concept_id) from {concept} where vocabulary_id <> 'trialdesk'").fetchone()[0] \
        < 2_000_000_000
    assert con.sql(f"select count(distinct concept_id) = count(*) from {concept}").fetchone()[0]


def test_the_mapping_conventions(omop):
    _, out, _ = omop
    con = duckdb.connect()
    q = lambda sql: con.sql(sql.replace("T(", f"'{out}/").replace(")T", ".parquet'")).fetchone()[0]  # noqa: E731
    # every dosed drug says mg/day; every vaccine (CVX) is a single day without a dose
    assert q("select count(*) from T(drug_exposure)T where (quantity is null) <> (dose_unit_source_value is null)") == 0
    assert q("select count(*) from T(drug_exposure)T where dose_unit_source_value not in ('mg/day')") == 0
    assert q("select count(*) from T(drug_exposure)T d join T(concept)T c on c.concept_id = d.drug_concept_id "
             "where c.vocabulary_id = 'CVX' and (quantity is not null or drug_exposure_end_date <> "
             "drug_exposure_start_date)") == 0
    # a qualitative result has no number and no unit; a number has a unit unless it is a score
    assert q("select count(*) from T(measurement)T where value_as_concept_id is not null and "
             "(value_as_number is not null or unit_source_value is not null)") == 0
    assert q("select count(*) from T(measurement)T m join T(concept)T c on c.concept_id = m.measurement_concept_id "
             "where value_as_number is not null and unit_source_value is null and c.concept_code not in "
             "('89247-1', '89243-0', '88020-3')") == 0
    # the components point at their assessment; attestations are 0/1 with an investigator
    assert q("select count(*) from T(observation)T o where observation_event_id is not null and "
             "observation_event_id not in (select observation_id from T(observation)T)") == 0
    assert q("select count(*) from T(observation)T o join T(concept)T c on c.concept_id = o.observation_concept_id "
             "where c.concept_code like 'attestation#%' and (value_as_number not in (0, 1) or provider_id is null)") == 0
    # conditions: resolved ones end on or after their start
    assert q("select count(*) from T(condition_occurrence)T where condition_end_date < condition_start_date") == 0


def test_streamed_chunks_equal_the_materialised_population(tmp_path):
    params = SynthParams(700, seed=5, chunk_size=300)
    streamed = write_omop(params, tmp_path / "streamed")
    whole = write_omop(generate(700, seed=5), tmp_path / "whole")
    # generate() uses the default chunk size: compare with the same chunking
    from trialdesk.synth import Population, chunks
    same = write_omop(Population.concat(list(chunks(700, 5, chunk_size=300))), tmp_path / "same")
    for table in TABLES:
        a, b = pq.read_table(streamed[table]), pq.read_table(same[table])
        assert a.equals(b), table
    assert pq.read_table(whole["person"]).num_rows == 700


def test_person_source_value_is_the_fhir_patient_id(omop, tmp_path):
    pop, out, _ = omop
    sub = pop.select(pop.persons["person_id"][:50])
    bundles = write_fhir(sub, tmp_path)
    ids = duckdb.sql(f"select person_id, person_source_value from '{out}/person.parquet' order by person_id "
                     "limit 50").fetchall()
    assert [p.stem for p in bundles] == [pid for _, pid in ids]
    assert np.array_equal(np.array([i for i, _ in ids]), sub.persons["person_id"])
