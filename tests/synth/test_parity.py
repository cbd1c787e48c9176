"""The same person means the same thing in FHIR and in OMOP: every criterion of both
cohorts gets the same outcome from the single-patient engine, whichever format it reads
(OMOP read by the tests' own reader of docs/omop-mapping.md)."""

from __future__ import annotations

import numpy as np

from omop_reader import read_omop
from synth_fixtures import population  # noqa: F401 - fixture
from trialdesk.engine.screen import screen
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.protocol.load import load
from trialdesk.synth import write_fhir, write_omop
from trialdesk.synth._mix import GROUP_INDEX


def test_fhir_and_omop_give_the_same_verdicts(population, tmp_path):
    persons = population.persons
    cohort = persons["group"] >= GROUP_INDEX["sle"]
    chosen = np.concatenate([persons["person_id"][cohort][:400], persons["person_id"][~cohort][:100]])
    sub = population.select(np.sort(chosen))
    bundles = write_fhir(sub, tmp_path / "fhir")
    write_omop(sub, tmp_path / "omop")
    from_omop = read_omop(tmp_path / "omop")
    assert set(from_omop) == {p.stem for p in bundles}
    protocol = load()
    differences = []
    for path in bundles:
        fhir = read_bundle(path.read_bytes(), path.name)
        omop = from_omop[path.stem]
        for cohort_id in ("SLE", "SRNS"):
            a = screen(protocol, fhir, population.as_of, cohort=cohort_id)
            b = screen(protocol, omop, population.as_of, cohort=cohort_id)
            for ca, cb in zip(a.results[0].criteria, b.results[0].criteria):
                if ca.outcome != cb.outcome:
                    differences.append((path.stem, ca.id, ca.outcome, ca.reason, cb.outcome, cb.reason))
            if sorted((i.ref, i.kind) for i in a.issues) != sorted((i.ref, i.kind) for i in b.issues):
                differences.append((path.stem, "data issues", a.issues, b.issues))
    assert not differences, f"{len(differences)} differences, e.g. {differences[:5]}"
