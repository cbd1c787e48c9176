"""generate(): deterministic per seed, the documented mix, and the invariants both writers rely on."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from synth_fixtures import population  # noqa: F401 - fixture
from trialdesk.synth import Population, chunks, describe_mix, generate
from trialdesk.synth import _catalogue as cat
from trialdesk.synth._mix import COMPLETENESS, COMPLETENESS_INDEX, FACETS, GROUPS, option
from trialdesk.synth._population import NONE, TABLES, to_day


def _equal(a: Population, b: Population) -> bool:
    return all(np.array_equal(a.tables[t][c], b.tables[t][c], equal_nan=a.tables[t][c].dtype.kind == "f")
               for t in a.tables for c in a.tables[t])


def test_same_seed_same_population_other_seed_another():
    assert _equal(generate(800, seed=3), generate(800, seed=3))
    assert not _equal(generate(800, seed=3), generate(800, seed=4))


def test_chunking_changes_nothing_but_memory():
    whole = Population.concat(list(chunks(300, seed=2, chunk_size=300)))
    assert _equal(whole, generate(300, seed=2))
    assert len(list(chunks(250, seed=2, chunk_size=100))) == 3


def test_group_shares_follow_the_mix(population):
    groups = np.bincount(population.persons["group"], minlength=len(GROUPS)) / len(population)
    for g, share in zip(GROUPS, groups):
        assert share == pytest.approx(g.share, abs=0.001), g.name  # quota allocation
    cohort = population.persons["completeness"] >= 0
    shares = np.bincount(population.persons["completeness"][cohort], minlength=len(COMPLETENESS)) / cohort.sum()
    for (name, share, _), got in zip(COMPLETENESS, shares):
        assert got == pytest.approx(share, abs=0.01), name


def test_facet_options_roughly_as_documented(population):
    p = population.persons
    typical = p["f_profile"] == option("profile", "typical")
    for f in FACETS:
        col = p[f"f_{f.name}"][typical if f.name != "profile" else slice(None)]
        col = col[col >= 0]
        if len(col) < 400 or f.name in ("biopsy", "refractory", "bcell", "infection"):
            continue  # too few to judge, or re-drawn for some
        for k, (name, share, _) in enumerate(f.options):
            assert np.mean(col == k) == pytest.approx(share, abs=0.05), (f.name, name)


def test_about_fifty_rows_a_person(population):
    rows = sum(n for t, n in population.rows().items() if t != "persons")
    assert 35 <= rows / len(population) <= 70


def test_ages_of_the_cohorts(population):
    p = population.persons
    age = (to_day(population.as_of) - p["birth"]) / 365.25
    sle = p["group"] == 3
    nephrotic = np.isin(p["group"], [4, 5, 6])
    edge = p["f_age_edge"] > 0
    assert age[sle & ~edge].min() >= 5 and age[sle].max() < 71.5
    assert age[nephrotic & ~edge].min() >= 3 and age[nephrotic].max() < 41.5
    assert np.mean(age[nephrotic] < 18) == pytest.approx(0.6, abs=0.05)
    assert np.mean(p["gender"][sle] == 0) == pytest.approx(0.9, abs=0.03)


def test_never_two_results_of_one_measure_on_one_day(population):
    m = population.tables["measurements"]
    measure = np.array(cat.MEASURE_OF)[m["code"]]
    keys = np.stack([m["person_id"], measure, m["day"]])
    assert np.unique(keys, axis=1).shape[1] == len(m["person_id"])
    for table in ("assessments", "attestations"):
        t = population.tables[table]
        keys = np.stack([t["person_id"], t["code"], t["day"]])
        assert np.unique(keys, axis=1).shape[1] == len(t["person_id"]), table


def test_dates_between_birth_and_as_of_except_the_deliberate_future_rows(population):
    as_of = to_day(population.as_of)
    p = population.persons
    future = p["person_id"][p["f_future"] > 0]
    for name, cols in TABLES.items():
        t = population.tables[name]
        birth = p["birth"][np.searchsorted(p["person_id"], t["person_id"])]
        for col in ("day", "onset", "abatement", "start", "end"):
            if col not in cols:
                continue
            v = t[col]
            dated = v != NONE
            assert (v[dated] >= birth[dated]).all(), (name, col)
            late = dated & (v > as_of)
            assert np.isin(t["person_id"][late], future).all(), (name, col)
    assert len(future) > 0


def test_ids_unique_and_records_well_formed(population):
    for seq_tables in (("measurements",), ("conditions",), ("drugs", "immunizations"),
                       ("attestations", "assessments", "components", "allergies", "consents", "studies")):
        ids = np.concatenate([population.tables[t]["row_id"] for t in seq_tables])
        assert len(np.unique(ids)) == len(ids)
    d = population.tables["drugs"]
    assert ((d["mg"] > 0) | np.isnan(d["mg"])).all()
    assert ((d["end"] == NONE) | (d["end"] >= d["start"])).all()
    c = population.tables["conditions"]
    assert (c["active"] == (c["abatement"] == NONE)).all()
    comps = population.tables["components"]
    assert np.isin(comps["assessment_id"], population.tables["assessments"]["row_id"]).all()
    assert (np.diff(comps["assessment_id"]) >= 0).all()
    for name in TABLES:
        assert (np.diff(population.tables[name]["person_id"]) >= 0).all(), name


def test_diagnosis_only_patients_have_nothing_else(population):
    p = population.persons
    only = p["person_id"][p["completeness"] == COMPLETENESS_INDEX["diagnosis"]]
    sub = population.select(only)
    rows = {t: n for t, n in sub.rows().items() if t != "persons" and n}
    assert set(rows) <= {"conditions"}
    assert rows["conditions"] <= 2 * len(only)  # the diagnosis (and for SRNS with SLE, the SLE)


def test_describe_mix_documents_every_group_and_facet():
    text = describe_mix()
    for g in GROUPS:
        assert f"| {g.name} |" in text
    for f in FACETS:
        assert f"| {f.name} |" in text
        for name, _, _ in f.options:
            assert f"| {name} |" in text


def test_as_of_moves_everything():
    a = generate(200, seed=1)
    b = generate(200, seed=1, as_of=date(2026, 4, 1))
    shift = to_day(date(2026, 4, 1)) - to_day(date(2026, 3, 2))
    assert np.array_equal(a.persons["group"], b.persons["group"])
    assert (b.tables["measurements"]["day"].max() - a.tables["measurements"]["day"].max()) == shift
