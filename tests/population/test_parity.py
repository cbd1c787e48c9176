"""The compiled protocol (OMOP, DuckDB) gives every person the outcome the interpreter gives
the same person's FHIR bundle: every criterion, every person, each cohort forced, the
unforced mode (which cohorts a person is considered for, and the outcomes there), and the
overall verdict.

10,000 synthetic persons (fixed seed) are written both ways (tests/population/conftest.py);
the bundles are read and screened in this process. A second pass screens a subset at other
dates (screening 20 days earlier, enrollment and infusion after it), so that windows anchored
on enrollment and infusion, and records dated after the screening date, are compared too.
A last test makes the same change to both formats where the generator writes no edge case
(an impossible or zero ULN, an unknown unit).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trialdesk.engine.screen import screen
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.population.facts import Facts
from trialdesk.population.prescreen import build
from trialdesk.population.source import open_omop
from trialdesk.synth import write_fhir, write_omop
from trialdesk.synth._mix import GROUP_INDEX

from .support import DATES, PERSONS, describe_dates, mismatch_table

MODES = ("SLE", "SRNS", None)  # forced SLE, forced SRNS, unforced (cohorts from the diagnoses)
SHIFTED = {"as_of": DATES["as_of"] - timedelta(days=20), "enrollment": DATES["as_of"] - timedelta(days=6),
           "infusion": DATES["as_of"] + timedelta(days=8)}
OTHERS_EVERY = 10  # the shifted pass screens every cohort candidate and every 10th other person

# mode -> person -> cohort -> {"overall": (verdict, None), criterion: (outcome, reason)}
Results = dict[str | None, dict[str, dict[str, dict[str, tuple[str | None, str | None]]]]]


def _interpreted(protocol, record, dates) -> dict:
    out: dict = {}
    for mode in MODES:
        s = screen(protocol, record, dates["as_of"], dates["enrollment"], dates["infusion"], cohort=mode)
        out[mode] = {r.cohort: {"overall": (r.overall, None), **{c.id: (c.outcome, c.reason) for c in r.criteria}}
                     for r in s.results}
    return out


def _regroup(per_person: dict[str, dict]) -> Results:
    out: Results = {mode: {} for mode in MODES}
    for pid, modes in per_person.items():
        for mode, cohorts in modes.items():
            out[mode][pid] = cohorts
    return out


@pytest.fixture(scope="session")
def interpreted(pop_protocol, fhir_dir) -> tuple[Results, Results]:
    """The interpreter's results at DATES for every bundle, and at SHIFTED for a subset."""
    main, shifted = {}, {}
    for i, path in enumerate(sorted(fhir_dir.glob("*.json"))):
        record = read_bundle(path.read_bytes(), path.name)
        main[record.patient.id] = _interpreted(pop_protocol, record, DATES)
        if main[record.patient.id][None] or i % OTHERS_EVERY == 0:
            shifted[record.patient.id] = _interpreted(pop_protocol, record, SHIFTED)
    return _regroup(main), _regroup(shifted)


def _compiled(protocol, omop, dates, criteria: list[str]) -> Results:
    out: Results = {mode: {} for mode in MODES}
    facts = Facts(protocol, omop, dates["as_of"])  # the fact tables, cached once for the three modes
    for mode in MODES:
        for row in build(protocol, omop, dates, cohort=mode, facts=facts).to_pyarrow().to_pylist():
            cohorts = out[mode].setdefault(row["patient_id"], {})
            assert row["cohort"] not in cohorts, f"two rows for {row['patient_id']} in {row['cohort']} ({mode})"
            cohorts[row["cohort"]] = {"overall": (row["overall"], None),
                                      **{c: (row[c], row[f"{c}_reason"]) for c in criteria if row[c] is not None}}
    return out


@pytest.fixture(scope="session")
def compiled(pop_protocol, omop_dir) -> tuple[Results, Results]:
    omop = open_omop(omop_dir, backend="duckdb")
    criteria = [c.id for c in pop_protocol.criteria]
    return _compiled(pop_protocol, omop, DATES, criteria), _compiled(pop_protocol, omop, SHIFTED, criteria)


def _compare(protocol, want: Results, got: Results, mode: str | None, persons: set[str] | None = None):
    """(mismatch rows, cells compared) of one mode; ``persons`` limits the compiled side."""
    rows, cells = [], 0
    label = mode or "unforced"
    for pid in sorted(want[mode]):
        a, b = want[mode][pid], got[mode].get(pid, {})
        if set(a) != set(b):
            rows.append((pid, label, "-", "cohorts considered", (", ".join(sorted(a)) or "none", None),
                         (", ".join(sorted(b)) or "none", None)))
        for cohort in sorted(set(a) & set(b)):
            expected = ["overall"] + [c.id for c in protocol.for_cohort(cohort)]
            for criterion in expected:
                cells += 1
                x, y = a[cohort].get(criterion, (None, None)), b[cohort].get(criterion, (None, None))
                if x[0] != y[0]:
                    rows.append((pid, label, cohort, criterion, x, y))
    extra = set(got[mode]) - set(want[mode]) if persons is None else set()
    for pid in sorted(extra):
        if got[mode][pid]:
            rows.append((pid, label, ", ".join(sorted(got[mode][pid])), "person", ("no bundle", None), ("screened", None)))
    return rows, cells


def _assert_same(protocol, want: Results, got: Results, modes, dates, persons=None) -> None:
    rows, cells = [], 0
    for mode in modes:
        r, n = _compare(protocol, want, got, mode, persons)
        rows += r
        cells += n
    assert cells > 0
    assert not rows, (f"{len(rows)} mismatch(es) in {cells:,} outcomes compared ({describe_dates(dates)}):\n"
                      + mismatch_table(rows, "interpreter (FHIR)", "compiled (OMOP, DuckDB)"))


@pytest.mark.parametrize("cohort", ["SLE", "SRNS"])
def test_forced_cohort_every_criterion_of_every_person(pop_protocol, interpreted, compiled, cohort):
    want, got = interpreted[0], compiled[0]
    assert len(want[cohort]) == PERSONS  # every bundle screened ...
    assert set(got[cohort]) == set(want[cohort])  # ... and one compiled row per person, for the same ids
    assert all(list(v) == [cohort] for v in got[cohort].values())
    _assert_same(pop_protocol, want, got, [cohort], DATES)


def test_unforced_cohorts_considered_and_their_outcomes(pop_protocol, interpreted, compiled):
    want, got = interpreted[0], compiled[0]
    candidates = {pid for pid, cohorts in want[None].items() if cohorts}
    assert 0 < len(candidates) < PERSONS  # some persons enter a cohort, most do not
    assert any(len(c) == 2 for c in want[None].values())  # and some enter both
    _assert_same(pop_protocol, want, got, [None], DATES)


def test_overall_verdicts_cover_every_verdict(interpreted, compiled):
    """The comparison means something: both sides reach each verdict, the same number of times."""
    want, got = interpreted[0], compiled[0]
    for mode in ("SLE", "SRNS"):
        count = lambda r: sorted(v[mode]["overall"][0] for v in r[mode].values())  # noqa: E731
        assert count(want) == count(got)
    verdicts = {v[c]["overall"][0] for mode in MODES for v in want[mode].values() for c in v}
    assert verdicts == {"eligible", "ineligible", "incomplete", "needs_review"}


def test_other_dates_enrollment_and_infusion_after_screening(pop_protocol, interpreted, compiled):
    want, got = interpreted[1], compiled[1]
    subset = set(want["SLE"])
    assert len(subset) >= PERSONS // OTHERS_EVERY
    restricted = {mode: {pid: v for pid, v in got[mode].items() if pid in subset} for mode in MODES}
    _assert_same(pop_protocol, want, restricted, MODES, SHIFTED, persons=subset)


# -- edges the generator does not write: the same change made to both formats ----------------

MUTATED_PERSONS = 400
# (LOINC codes, what is changed, new value): an impossible ULN (typo), a zero ULN, an unknown unit
MUTATIONS = [({"1920-8"}, "range_high", "1000000000"), ({"1742-6"}, "range_high", "0"),
             ({"1975-2", "14631-6"}, "unit", "mg/furlong")]


def _mutate(omop: Path, fhir: Path) -> dict[str, list[int]]:
    """Apply MUTATIONS to the latest matching result of each person, in both formats, one
    mutation per person (person_id modulo their number, so that none hides another);
    patient id -> the measurement ids changed."""
    concept = pq.read_table(omop / "concept.parquet").to_pylist()
    codes = {c["concept_id"]: c["concept_code"] for c in concept if c["vocabulary_id"] == "LOINC"}
    person = {r["person_id"]: r["person_source_value"] for r in pq.read_table(omop / "person.parquet").to_pylist()}
    table = pq.read_table(omop / "measurement.parquet")
    rows = sorted(table.to_pylist(), key=lambda r: r["measurement_date"], reverse=True)
    changed: dict[str, dict[int, tuple[str, str]]] = {}
    for i, (loincs, what, value) in enumerate(MUTATIONS):
        done: set[int] = set()
        for r in rows:
            if codes.get(r["measurement_concept_id"]) in loincs and r["person_id"] not in done \
                    and r["person_id"] % len(MUTATIONS) == i and (what != "range_high" or r["range_high"] is not None):
                done.add(r["person_id"])
                if what == "range_high":
                    r["range_high"] = type(r["range_high"])(value)
                else:
                    r["unit_source_value"] = value
                changed.setdefault(person[r["person_id"]], {})[r["measurement_id"]] = (what, value)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), omop / "measurement.parquet")
    for pid, by_id in changed.items():
        path = fhir / f"{pid}.json"
        bundle = json.loads(path.read_bytes())
        for entry in bundle["entry"]:
            res = entry["resource"]
            if res["resourceType"] == "Observation" and res["id"].startswith("m") \
                    and int(res["id"][1:]) in by_id:
                what, value = by_id[int(res["id"][1:])]
                if what == "range_high":
                    res["referenceRange"][0]["high"]["value"] = float(value)
                else:
                    res["valueQuantity"]["unit"] = res["valueQuantity"]["code"] = value
        path.write_text(json.dumps(bundle))
    return {pid: list(by_id) for pid, by_id in changed.items()}


def test_edges_not_generated_impossible_or_zero_uln_and_unknown_unit(pop_protocol, synth_population,
                                                                     tmp_path_factory):
    persons = synth_population.persons
    ids = persons["person_id"][persons["group"] >= GROUP_INDEX["sle"]][:MUTATED_PERSONS]
    sub = synth_population.select(np.sort(ids))
    root = tmp_path_factory.mktemp("mutated")
    write_omop(sub, root / "omop")
    write_fhir(sub, root / "fhir")
    changed = _mutate(root / "omop", root / "fhir")
    assert len(changed) > 90
    got = _compiled(pop_protocol, open_omop(root / "omop"), DATES, [c.id for c in pop_protocol.criteria])
    want: dict = {}
    for pid in changed:
        record = read_bundle((root / "fhir" / f"{pid}.json").read_bytes(), f"{pid}.json")
        want[pid] = _interpreted(pop_protocol, record, DATES)
    want_by_mode = _regroup(want)
    got = {mode: {pid: v for pid, v in got[mode].items() if pid in changed} for mode in MODES}
    _assert_same(pop_protocol, want_by_mode, got, MODES, DATES, persons=set(changed))
    liver = [want_by_mode["SLE"][pid]["SLE"]["INC-LIVER"][0] for pid in changed]
    assert liver.count("unknown") > len(changed) // 3  # the mutations decide INC-LIVER for many of them
