"""write_fhir(): bundles the project's FHIR reader takes without a single data issue,
except the deliberately future-dated records; Patient.id is person_source_value."""

from __future__ import annotations

import json

import numpy as np

from synth_fixtures import population  # noqa: F401 - fixture
from trialdesk.engine.screen import screen
from trialdesk.patient.censor import censor
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.protocol.load import load
from trialdesk.synth import write_fhir


def test_bundles_read_without_data_issues_but_the_future_ones(population, tmp_path):
    p = population.persons
    future = set(population.person_source_value(p["person_id"][p["f_future"] > 0]).tolist())
    chosen = np.concatenate([p["person_id"][:300], p["person_id"][p["f_future"] > 0][:10]])
    sub = population.select(np.unique(chosen))
    paths = write_fhir(sub, tmp_path)
    assert len(paths) == len(sub)
    protocol = load()
    flagged = set()
    for path in paths:
        bundle = json.loads(path.read_bytes())
        assert bundle["type"] == "collection" and bundle["entry"][0]["resource"]["id"] == path.stem
        record = read_bundle(path.read_bytes(), path.name)
        assert record.issues == () and record.unused == {}, (path.name, record.issues)
        issues = censor(record, population.as_of).issues
        assert all(i.kind == "future" for i in issues), issues
        result = screen(protocol, record, population.as_of)
        assert all(i.kind == "future" for i in result.issues), (path.name, result.issues)
        if issues:
            flagged.add(path.stem)
    assert flagged == future & {p.stem for p in paths} and flagged


def test_resources_are_dated_days_and_carry_the_omop_row_ids(population, tmp_path):
    sub = population.select(population.persons["person_id"][:60])
    ids = {"m": set(sub.tables["measurements"]["row_id"].tolist()),
           "c": set(sub.tables["conditions"]["row_id"].tolist()),
           "d": set(sub.tables["drugs"]["row_id"].tolist()) | set(sub.tables["immunizations"]["row_id"].tolist())}
    for path in write_fhir(sub, tmp_path):
        for entry in json.loads(path.read_bytes())["entry"][1:]:
            r = entry["resource"]
            text = json.dumps(r)
            assert "T00:" not in text and "T12:" not in text
            if r["id"][0] in ids:
                assert int(r["id"][1:]) in ids[r["id"][0]], r["id"]
            if r["resourceType"] == "MedicationStatement" and "dosage" in r:
                d = r["dosage"][0]
                assert d["timing"]["repeat"] == {"frequency": 1, "period": 1, "periodUnit": "d"}
                assert d["doseAndRate"][0]["doseQuantity"]["code"] == "mg"
            if r["resourceType"] == "Condition":
                status = r["clinicalStatus"]["coding"][0]["code"]
                assert (status == "resolved") == ("abatementDateTime" in r)
