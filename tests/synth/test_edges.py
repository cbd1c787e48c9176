"""Every facet option puts its patients on the intended side of the criterion it targets,
judged by the single-patient engine on the FHIR bundles (complete cohort patients)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from expectations import EXPECT, SKIP
from synth_fixtures import population  # noqa: F401 - fixture
from trialdesk.engine.screen import screen
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.protocol.load import load
from trialdesk.synth._fhir import write_fhir
from trialdesk.synth._mix import COMPLETENESS_INDEX, FACETS


@pytest.fixture(scope="module")
def screened(population, tmp_path_factory):
    """person_id -> (facet options, {(cohort, criterion): outcome}) for complete cohort patients."""
    persons = population.persons
    complete = persons["person_id"][persons["completeness"] == COMPLETENESS_INDEX["complete"]]
    sub = population.select(complete)
    protocol = load()
    out = {}
    for path in write_fhir(sub, tmp_path_factory.mktemp("edges")):
        record = read_bundle(path.read_bytes(), path.name)
        result = screen(protocol, record, population.as_of)
        pid = int(path.stem.split("-p")[1])
        k = int(np.flatnonzero(persons["person_id"] == pid)[0])
        facets = {f.name: f.options[persons[f"f_{f.name}"][k]][0] for f in FACETS if persons[f"f_{f.name}"][k] >= 0}
        out[pid] = (facets, {(r.cohort, c.id): c.outcome for r in result.results for c in r.criteria})
    return out


def _skipped(criterion: str, facet: str, facets: dict[str, str]) -> bool:
    return any(c == criterion and g != facet and facets.get(g) in opts for c, g, opts in SKIP)


def test_every_facet_option_lands_where_intended(screened):
    wrong, seen = [], Counter()
    for pid, (facets, outcomes) in screened.items():
        for facet, opt in facets.items():
            for criterion, expected in EXPECT.get((facet, opt), []):
                if _skipped(criterion, facet, facets):
                    continue
                for (cohort, cid), got in outcomes.items():
                    if cid == criterion:
                        seen[(facet, opt)] += 1
                        if got != expected:
                            wrong.append((pid, facet, opt, cohort, criterion, expected, got))
    assert not wrong, f"{len(wrong)} mismatches, e.g. {wrong[:10]}"
    missing = [key for key in EXPECT if not seen[key]]
    assert not missing, f"options never checked: {missing}"
