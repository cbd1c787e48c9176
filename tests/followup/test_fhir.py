"""Follow-up data read from a subject's FHIR bundle (followup.fhir), merged with the file."""

from __future__ import annotations

import json
from datetime import date

import pytest
import yaml

from trialdesk.errors import FollowupError
from trialdesk.followup.evaluate import evaluate
from trialdesk.followup.outcome import NOT_EVALUABLE
from trialdesk.followup.read import read_followup
from trialdesk.patient.fhir.builder import LOINC, RXNORM, PatientBuilder
from trialdesk.protocol.load import load

PROTOCOL = load()
M2 = date(2026, 3, 15)


def _bundle() -> dict:
    b = PatientBuilder("p1", "male", "2016-03-15", M2)
    b.qty("2890-2", 226, "mg/mmol", 0)             # UPCR
    b.qty("1751-7", 3.0, "g/dL", 0)                # albumin
    b.qty("2160-0", 0.5, "mg/dL", 0, high=0.7)     # creatinine
    b.qty("29463-7", 29, "kg", 0)
    b.qty("8302-2", 131, "cm", 0)
    b.obs(LOINC, "85354-9", 0, component=[         # blood pressure panel
        {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": {"value": 104, "unit": "mm[Hg]"}},
        {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": {"value": 66, "unit": "mm[Hg]"}}])
    b.obs(LOINC, "8116-6", 0, valueString="<5")    # CD19 below the detection limit: no number
    b.drug(RXNORM, "8638", "prednisolone", "2025-06-01", mg_per_day=10)
    b.drug(RXNORM, "42316", "tacrolimus", "2025-03-01", mg_per_day=2)
    b.drug(RXNORM, "42316", "tacrolimus 0.1 % topical ointment", "2026-01-01")  # not systemic (CL-14)
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in b.resources]}


def _write(tmp_path, bundle: dict, **subject: object):
    (tmp_path / "p1.json").write_text(json.dumps(bundle))
    raw = {"protocol": "carnk-aid", "subjects": [{
        "id": "SRNS-F", "cohort": "SRNS", "sex": "male", "birth_date": "2016-03-15", "infusion": "2026-01-15",
        "medications_complete_through": "2026-03-15", "fhir": "p1.json",
        "visits": [{"visit": "m2", "date": "2026-03-15"}], **subject}]}
    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_endpoints_from_the_bundle(tmp_path):
    followup = read_followup(_write(tmp_path, _bundle()), PROTOCOL)
    s = followup.subjects[0]
    assert {m.drug for m in s.medications} == {"prednisolone", "tacrolimus"}  # the ointment is not systemic
    assert s.nearest_vital("systolic", M2, 0) == (104, M2)
    (report,) = evaluate(followup, PROTOCOL, M2)
    m2 = report.at("m2")
    # computed by hand from IPNA (clinical.md 6.1) with CL-8: 226 mg/mmol x 8.84 mg/g = 1998 mg/g = 1.998 g/g < 2,
    # albumin 3.0 g/dL = 30 g/L >= 30 -> partial remission (code 1)
    assert m2.get("ipna-status").value == 1
    # CKiD U25 (Pierce 2021): male aged 10 on his birthday: K = 39.0 / 1.008^2 = 38.3834; x 1.31 m / 0.5 mg/dL = 100.56
    assert m2.get("egfr").value == pytest.approx(100.56, abs=0.01)
    assert m2.get("steroid-dose").value == 10
    # "<5" has no number: CD19 stays missing (not evaluable), and the import says so
    assert m2.get("cd19-depleted").status == NOT_EVALUABLE
    assert any("CD19+ B cells has no numeric value" in i for i in followup.issues)


def test_file_values_win_and_mismatches_are_errors(tmp_path):
    path = _write(tmp_path, _bundle(), visits=[{"visit": "m2", "date": "2026-03-15",
                                                "labs": {"upcr": {"value": 0.1, "unit": "g/g"}}}])
    followup = read_followup(path, PROTOCOL)
    assert followup.subjects[0].lab("upcr", M2).value == 0.1
    assert any("upcr of 2026-03-15 is also in the file" in i for i in followup.issues)
    with pytest.raises(FollowupError, match="is not this subject"):
        read_followup(_write(tmp_path, _bundle(), birth_date="2016-03-16"), PROTOCOL)
    with pytest.raises(FollowupError, match="cannot read the FHIR bundle"):
        read_followup(_write(tmp_path, {"resourceType": "Bundle", "entry": []}), PROTOCOL)


def test_sledai_from_the_bundle_fills_the_file_assessment(tmp_path):
    b = PatientBuilder("p1", "female", "1996-05-10", date(2026, 2, 9))
    b.assessment("sledai-2k", ["low-complement"], 0, absent=("arthritis",))
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in b.resources]}
    (tmp_path / "p1.json").write_text(json.dumps(bundle))

    def read(visit: dict):
        raw = {"protocol": "carnk-aid", "subjects": [{
            "id": "SLE-F", "cohort": "SLE", "sex": "female", "birth_date": "1996-05-10", "infusion": "2026-01-12",
            "fhir": "p1.json", "visits": [{"visit": "d28", "date": "2026-02-09", **visit}]}]}
        (tmp_path / "f.yaml").write_text(yaml.safe_dump(raw))
        return read_followup(tmp_path / "f.yaml", PROTOCOL).subjects[0]

    merged = read({"pga": 0.4}).assessment(date(2026, 2, 9))
    assert (merged.sledai, merged.pga) == (("low-complement",), 0.4)  # arthritis was assessed absent
    with pytest.raises(FollowupError, match="differs from the file's"):
        read({"pga": 0.4, "sledai": ["rash"]})
    # an unknown descriptor: the whole assessment is left out (dropping one could understate activity)
    bundle["entry"][-1]["resource"]["component"].append(
        {"code": {"coding": [{"system": "urn:trialdesk:sledai-2k", "code": "headache"}]}, "valueBoolean": True})
    (tmp_path / "p1.json").write_text(json.dumps(bundle))
    assert read({"pga": 0.4}).assessment(date(2026, 2, 9)).sledai is None
