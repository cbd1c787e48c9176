"""Data entry by form and corrections: through the JSON API and through the page forms.

Each form's entry must change the outcome of the criterion it feeds as the protocol says
(criteria.md); corrections make a new data version and keep the old one; attestations are the
investigator's; every entry and correction is in the audit trail with the reason.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from .app_helpers import AS_OF, example, new_candidate, post_bundle
from trialdesk.app.models import AuditRecord, DataVersion
from trialdesk.app.errors import Invalid
from trialdesk.app.forms import ROUTES, choices, drugs, ecg
from trialdesk.calculators import sledai_2k
from trialdesk.engine.match import is_systemic
from trialdesk.patient.model import Coding
from trialdesk.patient.fhir.scenarios import sle_eligible, srns_eligible
from trialdesk.protocol.load import load

ECOG, LVEF, ECG = "89247-1", "10230-1", "8601-7"


def without(builder, *codes: str) -> bytes:
    """The builder's bundle without the resources coded with ``codes`` (and without any Consent if asked)."""
    bundle = builder.bundle()
    keep = []
    for e in bundle["entry"]:
        r = e["resource"]
        coded = {c.get("code") for c in (r.get("code") or {}).get("coding", [])}
        if coded & set(codes) or ("Consent" in codes and r["resourceType"] == "Consent"):
            continue
        keep.append(e)
    bundle["entry"] = keep
    return json.dumps(bundle).encode()


def sle_adult(*codes: str) -> bytes:
    return without(sle_eligible(birth="1990-05-01"), *codes)


def start(site, content: bytes, cohort: str = "SLE", **dates) -> str:
    number = new_candidate(site, cohort=cohort, **dates)
    assert post_bundle(site, number, content).status_code == 200
    return number


def outcome(w: dict, criterion: str) -> str:
    return next(k["outcome"] for k in w["criteria"] if k["id"] == criterion)


def current(site, number: str, criterion: str) -> str:
    return outcome(site.client("monitor").get(f"/api/candidates/{number}").json(), criterion)


def csrf(site, role: str) -> str:
    return site.client(role).headers["X-CSRF-Token"]


def form(site, who: str, url: str, **data):
    return site.client(who).post(url, data={**data, "csrf_token": csrf(site, who)})


def bundle_of(site, number: str) -> dict:
    return site.client("monitor").get(f"/api/candidates/{number}/bundle").json()


def resource(site, number: str, ref: str) -> dict:
    rtype, rid = ref.split("/")
    return next(e["resource"] for e in bundle_of(site, number)["entry"]
                if e["resource"]["resourceType"] == rtype and e["resource"].get("id") == rid)


def from_form(site, number: str) -> list[dict]:
    return [e["resource"] for e in bundle_of(site, number)["entry"]
            if e["resource"].get("meta", {}).get("source") == "urn:trialdesk:form"]


def audit_rows(site, action: str | None = None) -> list[AuditRecord]:
    with site.db() as db:
        rows = list(db.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars())
    return [r for r in rows if action is None or r.action == action]


def versions(site) -> list[int]:
    with site.db() as db:
        return [v.version for v in db.execute(select(DataVersion).order_by(DataVersion.id)).scalars()]


# ---------------------------------------------------------------- performance status, LVEF, ECG

def test_ecog_by_api_turns_the_performance_criterion_from_unknown_to_pass(site):
    number = start(site, sle_adult(ECOG))
    assert current(site, number, "INC-ECOG") == "unknown"
    c = site.client("coordinator")
    url = f"/api/candidates/{number}/performance-status"
    for body, message in (({"scale": "ecog", "score": 7, "date": "2026-03-01"}, "score 7 is impossible"),
                          ({"scale": "ecog", "score": 1, "date": "2026-03-03"}, "is in the future"),
                          ({"scale": "zubrod", "score": 1, "date": "2026-03-01"}, "unknown performance scale"),
                          ({"scale": "karnofsky", "score": 75, "date": "2026-03-01"}, "in steps of 10")):
        r = c.post(url, json=body)
        assert r.status_code == 422 and message in r.json()["detail"], (body, r.text)
    assert versions(site) == [1]  # refused entries store nothing
    r = c.post(url, json={"scale": "ecog", "score": 1, "date": "2026-03-01"})
    assert r.status_code == 200, r.text
    w = r.json()
    assert outcome(w, "INC-ECOG") == "pass" and w["data"]["version"] == 2 and w["data"]["kind"] == "form"
    [obs] = from_form(site, number)
    assert obs["code"]["coding"][0] == {"system": "http://loinc.org", "code": ECOG,
                                        "display": "ECOG Performance Status score"}
    assert obs["valueInteger"] == 1 and obs["effectiveDateTime"] == "2026-03-01"
    assert obs["subject"] == {"reference": "Patient/sle-eligible"}
    [entry] = audit_rows(site, "enter")
    assert entry.history_type == "+" and entry.actor == "coordinator"
    new = json.loads(entry.new)
    assert new["form"] == "performance-status" and new["resources"] == [f"Observation/{obs['id']}"]
    assert new["version"] == 2 and json.loads(entry.old)["version"] == 1
    assert "sle-eligible" not in entry.new  # no patient identifier in the trail
    assert c.post(url, json={"scale": "ecog", "score": 3, "date": "2026-03-02"}).json()["criteria"]
    assert current(site, number, "INC-ECOG") == "fail"  # the latest score decides


def test_lansky_for_a_child_through_the_page_form(site):
    number = start(site, without(srns_eligible(), "lansky"), cohort="SRNS")
    assert current(site, number, "INC-ECOG") == "unknown"
    url = f"/candidates/{number}/performance-status"
    bad = form(site, "coordinator", url, scale="lansky", score="85", when="2026-03-01")
    assert bad.status_code == 422 and "in steps of 10" in bad.text
    bad = form(site, "coordinator", url, scale="lansky", score="eighty", when="2026-03-01")
    assert bad.status_code == 422 and "is not a whole number" in bad.text
    r = form(site, "coordinator", url, scale="lansky", score="80", when="2026-03-01")
    assert r.status_code == 303 and r.headers["location"] == f"/candidates/{number}#form-performance"
    assert current(site, number, "INC-ECOG") == "pass"
    [obs] = from_form(site, number)
    assert obs["code"]["coding"][0]["system"] == "urn:trialdesk:assessment" and obs["valueInteger"] == 80
    r = form(site, "coordinator", url, scale="lansky", score="40", when="2026-03-02")
    assert current(site, number, "INC-ECOG") == "fail"


def test_lvef_and_ecg_through_the_api(site):
    number = start(site, sle_adult(LVEF, ECG))
    assert current(site, number, "INC-LVEF") == "unknown" and current(site, number, "INC-ECG") == "unknown"
    c = site.client("coordinator")
    labs = f"/api/candidates/{number}/labs"
    r = c.post(labs, json={"measure": "lvef", "value": 140, "unit": "%", "date": "2026-03-01"})
    assert r.status_code == 422 and "140 % is impossible" in r.json()["detail"]
    r = c.post(labs, json={"measure": "lvef", "value": 60, "unit": "mg", "date": "2026-03-01"})
    assert r.status_code == 422 and "unit 'mg' cannot be read as %" in r.json()["detail"]
    assert outcome(c.post(labs, json={"measure": "lvef", "value": 60, "unit": "%", "date": "2026-03-01"}).json(),
                   "INC-LVEF") == "pass"
    ecg_url = f"/api/candidates/{number}/ecg"
    r = c.post(ecg_url, json={"impression": "borderline", "date": "2026-03-01"})
    assert r.status_code == 422 and "unknown ECG impression 'borderline'" in r.json()["detail"]
    r = c.post(ecg_url, json={"impression": "abnormal-significant", "finding": "complete heart block",
                          "date": "2026-03-01"})
    assert r.status_code == 200 and outcome(r.json(), "INC-ECG") == "fail"
    obs = [o for o in from_form(site, number) if o["code"]["coding"][0]["code"] == ECG][0]
    assert obs["valueCodeableConcept"] == {"coding": [{"system": "urn:trialdesk:ecg", "code": "abnormal-significant"}],
                                           "text": "complete heart block"}


def test_lvef_and_ecg_through_the_page_forms(site):
    number = start(site, sle_adult(LVEF, ECG))
    page = site.client("coordinator").get(f"/candidates/{number}")
    for section in ("form-performance", "form-cardiac", "form-sledai", "form-eular", "form-medication", "records"):
        assert f'id="{section}"' in page.text
    assert 'id="form-attestation"' not in page.text  # coordinators do not attest
    r = form(site, "coordinator", f"/candidates/{number}/labs", measure="lvef", unit="%", value="140",
             when="2026-03-01")
    assert r.status_code == 422 and "impossible" in r.text
    assert form(site, "coordinator", f"/candidates/{number}/labs", measure="lvef", unit="%", value="58",
                when="2026-03-01").status_code == 303
    r = form(site, "coordinator", f"/candidates/{number}/ecg", impression="normal", when="2026-02-27")
    assert r.status_code == 303 and r.headers["location"].endswith("#form-cardiac")
    assert current(site, number, "INC-LVEF") == "pass" and current(site, number, "INC-ECG") == "pass"
    r = form(site, "coordinator", f"/candidates/{number}/ecg", impression="normal", when="2027-01-01")
    assert r.status_code == 422 and "in the future" in r.text


# ---------------------------------------------------------------- SLEDAI-2K and EULAR/ACR

def test_sledai_checklist_through_the_api_records_every_descriptor_and_the_calculated_total(site):
    number = start(site, sle_adult("sledai-2k"))
    assert current(site, number, "SLE-SLEDAI") == "unknown"
    c = site.client("coordinator")
    url = f"/api/candidates/{number}/sledai-2k"
    r = c.post(url, json={"descriptors": ["arthritis", "butterfly"], "date": "2026-02-20"})
    assert r.status_code == 422 and "butterfly" in r.json()["detail"]
    r = c.post(url, json={"descriptors": ["rash", "alopecia"], "date": "2026-02-20"})  # 2 + 2 = 4
    assert r.status_code == 200 and outcome(r.json(), "SLE-SLEDAI") == "fail"
    r = c.post(url, json={"descriptors": ["arthritis", "rash", "low-complement"], "date": "2026-02-21"})
    assert outcome(r.json(), "SLE-SLEDAI") == "pass"  # 4 + 2 + 2 = 8 > 6
    obs = from_form(site, number)[-1]
    assert obs["valueInteger"] == sledai_2k.score(["arthritis", "rash", "low-complement"]).value == 8
    components = {x["code"]["coding"][0]["code"]: x["valueBoolean"] for x in obs["component"]}
    assert len(components) == 24 and sum(components.values()) == 3 and components["seizure"] is False
    assert {x["code"]["coding"][0]["system"] for x in obs["component"]} == {"urn:trialdesk:sledai-2k"}


def test_sledai_with_a_seizure_through_the_page_fails_the_cns_criteria(site):
    number = start(site, sle_adult("sledai-2k"))
    assert current(site, number, "SLE-NO-CNS") == "pass"
    r = form(site, "coordinator", f"/candidates/{number}/sledai-2k", when="2026-02-25",
             descriptors=["seizure", "arthritis"])
    assert r.status_code == 303 and r.headers["location"].endswith("#form-sledai")
    w = site.client("monitor").get(f"/api/candidates/{number}").json()
    assert outcome(w, "SLE-SLEDAI") == "pass"  # 8 + 4
    assert outcome(w, "SLE-NO-CNS") == "fail" and outcome(w, "EXC-CNS") == "fail"


def test_eular_acr_items_with_the_ana_titer(site):
    number = start(site, sle_adult("eular-acr-2019", "5048-4"))
    assert current(site, number, "SLE-CLASSIFICATION") == "unknown"
    c = site.client("coordinator")
    url = f"/api/candidates/{number}/eular-acr-2019"
    r = c.post(url, json={"items": ["malar-rash"], "date": "2025-01-10"})
    assert r.status_code == 422 and "malar-rash" in r.json()["detail"]
    items = ["acute-cutaneous-lupus", "joint-involvement", "low-c3-and-c4"]  # 6 + 6 + 4
    r = c.post(url, json={"items": items, "date": "2025-01-10"})
    assert outcome(r.json(), "SLE-CLASSIFICATION") == "unknown"  # no ANA yet
    r = c.post(url, json={"items": items, "date": "2025-01-10", "ana_titer": 40})
    assert outcome(r.json(), "SLE-CLASSIFICATION") == "fail"  # ANA below 1:80
    r = form(site, "coordinator", f"/candidates/{number}/eular-acr-2019", when="2025-01-11", ana_titer="320",
             ana_date="2024-12-01", items="acute-cutaneous-lupus")  # a single item: 6 < 10
    assert r.status_code == 303 and current(site, number, "SLE-CLASSIFICATION") == "fail"
    r = form(site, "coordinator", f"/candidates/{number}/eular-acr-2019", when="2025-01-12", items=items)
    assert r.status_code == 303 and current(site, number, "SLE-CLASSIFICATION") == "pass"
    ana = [o for o in from_form(site, number) if o["code"]["coding"][0]["code"] == "5048-4"]
    assert [o["valueString"] for o in ana] == ["1:40", "1:320"] and ana[1]["effectiveDateTime"] == "2024-12-01"


# ---------------------------------------------------------------- medications

def test_a_rituximab_course_inside_the_washout_fails_the_b_cell_criterion(site):
    number = start(site, sle_adult(), enrollment="2026-03-20")
    assert current(site, number, "EXC-BCELL-THERAPY") == "pass"
    c = site.client("coordinator")
    url = f"/api/candidates/{number}/medications"
    course = {"drug": "rituximab", "dose": 1000, "unit": "mg", "route": "intravenous", "frequency": 1,
              "period": 2, "period_unit": "wk", "start": "2026-02-10", "end": "2026-02-24"}
    for change, message in (({"drug": "rituximabb"}, "unknown drug 'rituximabb'"),
                            ({"unit": "mL"}, "dose unit 'mL' is not one of mg, g, ug"),
                            ({"route": "intrathecal"}, "unknown route"),
                            ({"dose": -5}, "is not a dose amount"),
                            ({"start": "2026-03-05", "end": None}, "in the future"),
                            ({"end": "2026-02-01"}, "before the start date"),
                            ({"period_unit": "fortnight"}, "period unit")):
        r = c.post(url, json={**course, **change})
        assert r.status_code == 422 and message in r.json()["detail"], (change, r.text)
    r = c.post(url, json=course)
    assert r.status_code == 200, r.text
    row = next(k for k in r.json()["criteria"] if k["id"] == "EXC-BCELL-THERAPY")
    assert row["outcome"] == "fail" and row["eligible_from"] == "2026-03-25"  # 1 month after the last dose
    [statement] = from_form(site, number)
    assert statement["resourceType"] == "MedicationStatement" and statement["status"] == "completed"
    assert statement["medicationCodeableConcept"]["coding"][0] == {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "121191", "display": "rituximab"}
    dosage = statement["dosage"][0]
    assert dosage["route"]["coding"][0]["code"] == "47625008"
    assert dosage["timing"]["repeat"] == {"frequency": 1, "period": 2, "periodUnit": "wk"}
    assert statement["effectivePeriod"] == {"start": "2026-02-10", "end": "2026-02-24"}


def test_a_prescription_through_the_page_and_a_course_outside_the_washout(site):
    number = start(site, sle_adult(), enrollment="2026-03-20")
    r = form(site, "coordinator", f"/candidates/{number}/medications", drug="belimumab", dose="10", unit="mg",
             route="intravenous", frequency="1", period="4", period_unit="wk", start="2025-11-01",
             end="2026-01-15", record="request")
    assert r.status_code == 303 and r.headers["location"].endswith("#form-medication")
    assert current(site, number, "EXC-BCELL-THERAPY") == "pass"  # ended more than a month before enrollment
    [request] = from_form(site, number)
    assert request["resourceType"] == "MedicationRequest" and request["authoredOn"] == "2025-11-01"
    assert request["dispenseRequest"]["validityPeriod"] == {"start": "2025-11-01", "end": "2026-01-15"}
    bad = form(site, "coordinator", f"/candidates/{number}/medications", drug="belimumab", dose="ten", unit="mg",
               route="intravenous", start="2025-11-01")
    assert bad.status_code == 422 and "dose: &#39;ten&#39; is not a number" in bad.text


def test_every_form_drug_has_a_protocol_code_and_local_routes_read_as_not_systemic():
    protocol = load()
    known = drugs(protocol)
    assert {"rituximab", "belimumab", "telitacicept", "prednisone", "hydroxychloroquine", "tacrolimus"} <= set(known)
    assert known["telitacicept"] == {"system": "urn:trialdesk:drug", "code": "telitacicept",
                                     "valueset": "telitacicept"}
    codes = {(c.system, c.code) for vs in protocol.valuesets.values() for c in vs.codes}
    assert all((d["system"], d["code"]) in codes for d in known.values())
    tacrolimus = (Coding("http://www.nlm.nih.gov/research/umls/rxnorm", "42316", "tacrolimus"),)
    for route, (_, _, local_words) in ROUTES.items():
        text = f"tacrolimus, {local_words}" if local_words else None
        assert is_systemic(tacrolimus, text) is (local_words is None), route


# ---------------------------------------------------------------- attestations

def test_only_an_investigator_attests_and_the_attestation_carries_who_and_when(site):
    number = start(site, sle_adult("Consent", "no-major-condition"))
    assert current(site, number, "INC-CONSENT") == "unknown"
    assert current(site, number, "EXC-MAJOR-CONDITION") == "unknown"
    url = f"/api/candidates/{number}/attestations"
    body = {"code": "consent-signed", "value": True, "date": "2026-02-28"}
    assert site.client("coordinator").post(url, json=body).status_code == 403
    assert form(site, "coordinator", f"/candidates/{number}/attestations", code="consent-signed",
                value="yes").status_code == 403
    assert versions(site) == [1]
    inv = site.client("investigator")
    r = inv.post(url, json={"code": "consent-given", "value": True})
    assert r.status_code == 422 and "unknown attestation 'consent-given'" in r.json()["detail"]
    site.clock.advance(minutes=5)
    r = inv.post(url, json=body)
    assert r.status_code == 200 and outcome(r.json(), "INC-CONSENT") == "pass"
    [obs] = from_form(site, number)
    assert obs["code"]["coding"][0] == {"system": "urn:trialdesk:attestation", "code": "consent-signed"}
    assert obs["valueBoolean"] is True and obs["effectiveDateTime"] == "2026-02-28"
    assert obs["performer"] == [{"identifier": {"system": "urn:trialdesk:user", "value": "investigator"},
                                 "display": "Test Investigator (investigator)"}]
    assert obs["issued"] == site.clock.now.isoformat()
    row = next(k for k in r.json()["criteria"] if k["id"] == "INC-CONSENT")
    assert "by Test Investigator (investigator)" in row["reason"]
    page = inv.get(f"/candidates/{number}")
    assert 'id="form-attestation"' in page.text and "No other major medical condition" in page.text
    r = form(site, "investigator", f"/candidates/{number}/attestations", code="no-major-condition", value="no",
             when="2026-03-01")
    assert r.status_code == 303 and r.headers["location"].endswith("#form-attestation")
    assert current(site, number, "EXC-MAJOR-CONDITION") == "fail"
    assert [a.actor for a in audit_rows(site, "enter")] == ["investigator", "investigator"]


def test_a_later_entry_on_the_same_day_wins(site):
    """Two attestations of one item on one day: the later one decides (it used to be the earlier,
    which kept a 'pass' after the investigator changed their answer)."""
    number = start(site, sle_adult("labs-not-significant"))
    url = f"/api/candidates/{number}/attestations"
    inv = site.client("investigator")
    r = inv.post(url, json={"code": "labs-not-significant", "value": True, "date": "2026-03-01"})
    assert r.status_code == 200 and outcome(r.json(), "EXC-LAB-SIGNIFICANT") == "pass"
    r = inv.post(url, json={"code": "labs-not-significant", "value": False, "date": "2026-03-01"})
    assert r.status_code == 200 and outcome(r.json(), "EXC-LAB-SIGNIFICANT") == "fail"


# ---------------------------------------------------------------- corrections

def test_removing_a_record_is_a_new_version_with_the_reason_audited(site):
    number = start(site, sle_adult())
    coord = site.client("coordinator")
    listed = coord.get(f"/api/candidates/{number}/records").json()
    assert listed["version"] == 1 and "resource" not in listed["records"][0]
    ecog = next(r for r in listed["records"] if r["what"] == "ECOG Performance Status score")
    assert ecog["source"] == "import" and ecog["type"] == "Observation"
    url = f"/api/candidates/{number}/corrections"
    r = coord.post(url, json={"record": ecog["record"], "action": "remove", "reason": " "})
    assert r.status_code == 422 and "needs a reason" in r.json()["detail"]
    r = coord.post(url, json={"record": "Observation/nope", "action": "remove", "reason": "duplicate"})
    assert r.status_code == 409
    patient = next(r for r in listed["records"] if r["type"] == "Patient")
    r = coord.post(url, json={"record": patient["record"], "action": "remove", "reason": "wrong patient"})
    assert r.status_code == 422 and "Patient cannot be removed" in r.json()["detail"]
    assert versions(site) == [1]
    r = coord.post(url, json={"record": ecog["record"], "action": "remove", "reason": "entered for another visit"})
    assert r.status_code == 200 and outcome(r.json(), "INC-ECOG") == "unknown"
    assert versions(site) == [1, 2]
    with site.db() as db:
        old, new = db.execute(select(DataVersion).order_by(DataVersion.id)).scalars()
        assert ECOG in old.content and ECOG not in new.content  # the old version is kept as it was
    [removed] = audit_rows(site, "remove")
    assert removed.history_type == "-" and removed.reason == "entered for another visit"
    assert json.loads(removed.old)["record"] == ecog["record"] and len(json.loads(removed.old)["sha256"]) == 64
    assert json.loads(removed.new)["version"] == 2


def test_a_form_entry_corrects_an_imported_record_in_place_of_it(site):
    number = start(site, sle_adult())
    ecog = next(r for r in site.client("coordinator").get(f"/api/candidates/{number}/records").json()["records"]
                if r["what"] == "ECOG Performance Status score")
    url = f"/api/candidates/{number}/performance-status"
    body = {"scale": "ecog", "score": 3, "date": "2026-02-25", "replaces": ecog["record"]}
    r = site.client("coordinator").post(url, json=body)
    assert r.status_code == 422 and "needs a reason" in r.json()["detail"]
    r = site.client("coordinator").post(url, json={**body, "reason": "transcription error: 3, not 1"})
    assert r.status_code == 200 and outcome(r.json(), "INC-ECOG") == "fail"
    fixed = resource(site, number, ecog["record"])  # same id, new content
    assert fixed["valueInteger"] == 3 and fixed["status"] == "corrected"
    assert fixed["meta"]["source"] == "urn:trialdesk:form"
    assert sum(1 for e in bundle_of(site, number)["entry"]
               if (e["resource"].get("code") or {}).get("coding", [{}])[0].get("code") == ECOG) == 1
    [corrected] = audit_rows(site, "correct")
    assert corrected.history_type == "~" and corrected.reason == "transcription error: 3, not 1"
    old, new = json.loads(corrected.old), json.loads(corrected.new)
    assert old["record"] == new["record"] == ecog["record"] and old["sha256"] != new["sha256"]
    assert (old["version"], new["version"]) == (1, 2)


def test_a_form_entry_cannot_replace_a_record_of_another_item(site):
    """An ECOG entry 'replacing' the hepatitis B surface antigen result would delete an infection
    result under the label of an ECOG correction."""
    number = start(site, sle_adult())
    hbsag = next(r for r in site.client("coordinator").get(f"/api/candidates/{number}/records").json()["records"]
                 if "5196-1" in json.dumps(resource(site, number, r["record"])))
    r = site.client("coordinator").post(f"/api/candidates/{number}/performance-status", json={
        "scale": "ecog", "score": 1, "date": "2026-02-25", "replaces": hbsag["record"], "reason": "typo"})
    assert r.status_code == 422 and "can replace only a record of the same item" in r.json()["detail"]
    assert versions(site) == [1]


def test_replacing_a_record_with_a_corrected_resource(site):
    number = start(site, sle_adult())
    coord = site.client("coordinator")
    lvef = next(r for r in coord.get(f"/api/candidates/{number}/records").json()["records"]
                if r["what"] == "Left ventricular Ejection fraction")
    original = resource(site, number, lvef["record"])
    url = f"/api/candidates/{number}/corrections"
    low = {**original, "valueQuantity": {**original["valueQuantity"], "value": 50}}
    r = coord.post(url, json={"record": lvef["record"], "action": "replace", "reason": "echo re-read"})
    assert r.status_code == 422 and "needs the corrected resource" in r.json()["detail"]
    r = coord.post(url, json={"record": lvef["record"], "action": "replace", "reason": "x",
                              "resource": {"resourceType": "Condition", "id": "c1"}})
    assert r.status_code == 422 and "cannot be replaced by a Condition" in r.json()["detail"]
    r = coord.post(url, json={"record": lvef["record"], "action": "replace", "reason": "x",
                              "resource": {**low, "effectiveDateTime": "01/03/2026"}})
    assert r.status_code == 422 and "could not be read" in r.json()["detail"]
    for change, message in (({"effectiveDateTime": "2026-03-03"}, "after the screening date 2026-03-02"),
                            ({"valueQuantity": {**low["valueQuantity"], "value": 140}}, "140 % is impossible"),
                            ({"valueQuantity": {"value": 50, "unit": "mL", "code": "mL"}}, "cannot be read as %")):
        r = coord.post(url, json={"record": lvef["record"], "action": "replace", "reason": "x",
                                  "resource": {**low, **change}})
        assert r.status_code == 422 and message in r.json()["detail"], (change, r.text)
    assert versions(site) == [1]
    r = coord.post(url, json={"record": lvef["record"], "action": "replace", "reason": "echo re-read",
                              "resource": low})
    assert r.status_code == 200 and outcome(r.json(), "INC-LVEF") == "fail"
    # through the page: put the original value back
    r = form(site, "coordinator", f"/candidates/{number}/corrections", record=lvef["record"], action="replace",
             reason="the first reading was right", resource=json.dumps(original))
    assert r.status_code == 303 and r.headers["location"].endswith("#records")
    assert current(site, number, "INC-LVEF") == "pass" and versions(site) == [1, 2, 3]
    bad = form(site, "coordinator", f"/candidates/{number}/corrections", record=lvef["record"], action="replace",
               reason="x", resource="{not json")
    assert bad.status_code == 422 and "not JSON" in bad.text
    r = form(site, "coordinator", f"/candidates/{number}/corrections", record=lvef["record"], action="remove",
             reason="no echo done")
    assert r.status_code == 303 and current(site, number, "INC-LVEF") == "unknown"
    assert [a.action for a in audit_rows(site) if a.entity_type == "data" and a.action != "export"] == [
        "import", "correct", "correct", "remove"]


def test_a_coordinator_cannot_remove_or_forge_an_attestation(site):
    number = start(site, sle_adult())
    coord = site.client("coordinator")
    listed = coord.get(f"/api/candidates/{number}/records").json()["records"]
    attestation = next(r for r in listed if r["attestation"])
    url = f"/api/candidates/{number}/corrections"
    body = {"record": attestation["record"], "action": "remove", "reason": "not signed"}
    assert coord.post(url, json=body).status_code == 403
    ecog = next(r for r in listed if r["what"] == "ECOG Performance Status score")
    forged = {"resourceType": "Observation", "status": "final", "effectiveDateTime": AS_OF, "valueBoolean": True,
              "code": {"coding": [{"system": "urn:trialdesk:attestation", "code": "consent-signed"}]}}
    assert coord.post(url, json={"record": ecog["record"], "action": "replace", "reason": "x",
                                 "resource": forged}).status_code == 403
    assert versions(site) == [1]
    r = site.client("investigator").post(url, json=body)
    assert r.status_code == 200 and json.loads(audit_rows(site, "remove")[0].old)["record"] == attestation["record"]


@pytest.mark.parametrize("path", ["performance-status", "ecg", "sledai-2k", "eular-acr-2019", "medications",
                                  "corrections"])
def test_forms_need_data_first(site, path):
    number = new_candidate(site)
    r = site.client("investigator").post(f"/api/candidates/{number}/{path}", json={
        "performance-status": {"scale": "ecog", "score": 1, "date": "2026-03-01"},
        "ecg": {"impression": "normal", "date": "2026-03-01"},
        "sledai-2k": {"descriptors": [], "date": "2026-03-01"},
        "eular-acr-2019": {"items": [], "date": "2026-03-01"},
        "medications": {"drug": "prednisone", "dose": 5, "unit": "mg", "route": "oral", "start": "2026-01-01"},
        "corrections": {"record": "Observation/x", "action": "remove", "reason": "x"}}[path])
    assert r.status_code == 409 and "import a bundle first" in r.json()["detail"]


def test_correcting_the_patient_keeps_its_id_out_of_the_audit_trail(site):
    number = start(site, sle_adult())
    patient = resource(site, number, "Patient/sle-eligible")
    r = site.client("coordinator").post(f"/api/candidates/{number}/corrections", json={
        "record": "Patient/sle-eligible", "action": "replace", "reason": "birth date mistyped",
        "resource": {**patient, "birthDate": "2022-05-01"}})
    assert r.status_code == 200 and outcome(r.json(), "SLE-AGE") == "fail"  # 3 years old
    [corrected] = audit_rows(site, "correct")
    assert json.loads(corrected.old)["record"] == json.loads(corrected.new)["record"] == "Patient"
    assert all("sle-eligible" not in (row.old or "") + (row.new or "") for row in audit_rows(site))


class _Controls(HTMLParser):
    """Every form control of a page, whether a <label> wraps it or names it, and every element id."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.controls, self.label_for, self.ids = 0, [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "label":
            self.depth += 1
            if "for" in a:
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append((a.get("name"), a.get("id"), self.depth > 0))

    def handle_endtag(self, tag):
        if tag == "label":
            self.depth -= 1


def test_every_input_of_the_workspace_has_a_label_and_ids_are_unique(site):
    number = start(site, sle_adult())
    page = _Controls()
    page.feed(site.client("investigator").get(f"/candidates/{number}").text)
    unlabelled = [(name, id_) for name, id_, wrapped in page.controls if not wrapped and id_ not in page.label_for]
    assert unlabelled == []
    assert len(page.controls) > 60  # the forms are there
    assert len(page.ids) == len(set(page.ids))


def test_malformed_stored_records_are_listed_and_can_be_removed(site):
    bundle = json.loads(sle_adult())
    odd = {"resourceType": "Observation", "id": "odd", "meta": "x", "status": "final", "code": [1],
           "effectivePeriod": "2026-02-01"}
    bundle["entry"] += [{"resource": odd}, {"resource": {"id": "no-type"}}, {"resource": ["not", "an", "object"]}]
    number = start(site, json.dumps(bundle).encode())
    listed = site.client("coordinator").get(f"/api/candidates/{number}/records").json()["records"]
    assert {"record": "Observation/odd", "type": "Observation", "what": "", "date": None, "source": "import",
            "attestation": False} in listed
    assert len(listed) == len(bundle["entry"]) - 2  # entries without a resource type cannot be named
    assert site.client("coordinator").get(f"/candidates/{number}").status_code == 200
    issues = site.client("coordinator").get(f"/api/candidates/{number}").json()["data_issues"]
    assert any(i["resource"] == "Observation/odd" for i in issues)
    r = site.client("coordinator").post(f"/api/candidates/{number}/corrections", json={
        "record": f"None/#{len(bundle['entry']) - 2}", "action": "remove", "reason": "junk"})
    assert r.status_code == 409
    r = site.client("coordinator").post(f"/api/candidates/{number}/corrections", json={
        "record": "Observation/odd", "action": "remove", "reason": "unreadable record"})
    assert r.status_code == 200
    assert not any(i["resource"] == "Observation/odd" for i in r.json()["data_issues"])


def test_a_correction_after_the_signature_invalidates_it(site):
    number = start(site, sle_adult())
    inv = site.client("investigator")
    assert inv.post(f"/api/candidates/{number}/signatures",
                    json={"password": "investigator-password-1"}).status_code == 201
    r = inv.post(f"/api/candidates/{number}/attestations", json={
        "code": "investigator-no-concern", "value": False, "replaces": next(
            x["record"] for x in inv.get(f"/api/candidates/{number}/records").json()["records"]
            if x["attestation"] and x["what"] == "investigator-no-concern"),
        "reason": "new concern after the echo"})
    assert r.status_code == 200, r.text
    w = r.json()
    assert outcome(w, "EXC-INVESTIGATOR") == "fail" and w["candidate"]["status"] == "ineligible"
    [sig] = w["signatures"]
    assert sig["valid"] is False and "the data changed" in sig["invalidated_because"]
    assert [a.action for a in audit_rows(site)][-3:] == ["correct", "screen", "invalidate"]


def test_a_protocol_without_the_measures_offers_no_such_forms():
    protocol = load()
    bare = dataclasses.replace(protocol, measures={k: m for k, m in protocol.measures.items()
                                                   if k not in ("ecg", "ecog", "lansky", "sledai-2k")})
    offered = choices(bare)
    assert offered["ecg"] == () and list(offered["scales"]) == ["karnofsky"]
    assert "sledai-2k" not in offered["measures"] and "eular-acr-2019" in offered["measures"]
    with pytest.raises(Invalid, match="has no measure 'ecg'"):
        ecg(bare, "normal", date(2026, 3, 1), date(2026, 3, 2))


def test_a_form_entry_on_a_bare_patient_makes_it_a_bundle(site):
    number = start(site, example("patient-only"))
    r = site.client("coordinator").post(f"/api/candidates/{number}/performance-status",
                                        json={"scale": "ecog", "score": 0, "date": "2026-03-01"})
    assert r.status_code == 200 and outcome(r.json(), "INC-ECOG") == "pass"
    stored = bundle_of(site, number)
    assert stored["resourceType"] == "Bundle" and [e["resource"]["resourceType"] for e in stored["entry"]] == [
        "Patient", "Observation"]
    r = site.client("coordinator").post(f"/api/candidates/{number}/labs", headers={"Content-Type": "application/json"},
                                        content=f'{{"measure": "lvef", "value": NaN, "unit": "%", "date": "{AS_OF}"}}')
    assert r.status_code == 422 and "LVEF: nan is not a finite number" in r.json()["detail"]


def test_a_stale_row_version_refuses_a_form_entry(site):
    number = start(site, sle_adult(ECOG))
    c = site.client("coordinator")
    seen = int(c.get(f"/api/candidates/{number}").headers["ETag"].strip('"'))
    body = {"scale": "ecog", "score": 1, "date": "2026-03-01"}
    assert c.post(f"/api/candidates/{number}/performance-status", json=body,
                  headers={"If-Match": f'"{seen}"'}).status_code == 200
    r = c.post(f"/api/candidates/{number}/ecg", json={"impression": "normal", "date": "2026-03-01"},
               headers={"If-Match": f'"{seen}"'})
    assert r.status_code == 409 and "reload" in r.json()["detail"]
    r = form(site, "coordinator", f"/candidates/{number}/corrections", record="Observation/observation-6",
             action="remove", reason="x", row_version=str(seen))
    assert r.status_code == 409 and versions(site) == [1, 2]
