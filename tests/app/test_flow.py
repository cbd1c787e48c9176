"""API flows: create, import, screen, fix missing data by form, review, sign, invalidate, enroll."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from .app_helpers import example, make_site, new_candidate, post_bundle
from trialdesk.app.models import AuditRecord
from trialdesk.engine.screen import screen
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.patient.fhir.scenarios import sle_eligible
from trialdesk.protocol.load import load

def audit_rows(site) -> list[AuditRecord]:
    with site.db() as db:
        return list(db.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars())


def test_posting_a_bundle_returns_the_screen_command_json(site):
    number = new_candidate(site)
    assert number == "S-0001"
    r = post_bundle(site, number, example("sle-eligible"))
    assert r.status_code == 200, r.text
    record = read_bundle(example("sle-eligible"), number)
    expected = screen(load(), record, date(2026, 3, 2), cohort="SLE").to_json(number)
    assert r.json() == json.loads(json.dumps(expected))
    assert r.json()["results"][0]["overall"] == "eligible"
    w = site.client("monitor").get(f"/api/candidates/{number}").json()
    assert w["candidate"]["status"] == "screening"  # eligible needs the investigator's signature
    assert w["screening"]["protocol"]["sha256"] == expected["protocol"]["sha256"]
    assert site.client("monitor").get(f"/api/candidates/{number}/screening").json() == r.json()


def test_screening_query_parameters_set_cohort_and_dates(site):
    number = new_candidate(site, cohort=None)
    r = site.client("coordinator").post(f"/api/candidates/{number}/screenings?cohort=SRNS&enrollment=2026-03-20",
                                        content=example("sle-eligible"), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert [x["cohort"] for x in r.json()["results"]] == ["SRNS"]
    assert r.json()["enrollment"] == "2026-03-20"
    again = site.client("coordinator").post(f"/api/candidates/{number}/screenings")  # no body: screen again
    assert again.status_code == 200 and again.json()["results"] == r.json()["results"]


def test_checklist_carries_every_field_and_the_missing_panel(site):
    number = new_candidate(site)
    assert post_bundle(site, number, example("sle-stale-liver-tests")).status_code == 200
    w = site.client("coordinator").get(f"/api/candidates/{number}").json()
    assert w["screening"]["overall"] == "incomplete"
    row = next(k for k in w["criteria"] if k["id"] == "INC-LIVER")
    assert set(row) >= {"id", "outcome", "reason", "evidence", "clarifications", "eligible_from", "valid_until",
                        "needs", "decision"}
    assert row["outcome"] == "unknown"
    assert [m["what"] for m in w["missing"]] == ["ALT", "AST"]
    assert all(m["criteria"] == ["INC-LIVER"] for m in w["missing"])
    assert any(k["valid_until"] for k in w["criteria"])
    assert w["clarifications"]["CL-4"]


def test_a_missing_lab_entered_by_form_completes_the_screening(site):
    number = new_candidate(site)
    post_bundle(site, number, example("sle-stale-liver-tests"))
    c = site.client("coordinator")
    for measure, value in (("ast", 25), ("alt", 20)):
        r = c.post(f"/api/candidates/{number}/labs", json={"measure": measure, "value": value, "unit": "U/L",
                                                             "date": "2026-02-27", "reference_high": 40})
        assert r.status_code == 200, r.text
    w = r.json()
    assert w["screening"]["overall"] == "eligible"
    assert w["data"]["version"] == 3 and w["data"]["kind"] == "form"
    assert w["missing"] == []
    bundle = site.client("monitor").get(f"/api/candidates/{number}/bundle").json()
    assert sum(e["resource"].get("meta", {}).get("source") == "urn:trialdesk:form" for e in bundle["entry"]) == 2
    bad = c.post(f"/api/candidates/{number}/labs", json={"measure": "weight-of-soul", "value": 1, "unit": "g",
                                                         "date": "2026-02-27"})
    assert bad.status_code == 422


def test_review_sign_and_invalidation_when_the_data_change(site):
    number = new_candidate(site)
    post_bundle(site, number, example("sle-old-seizure"))
    inv = site.client("investigator")
    w = inv.get(f"/api/candidates/{number}").json()
    assert w["screening"]["overall"] == "needs_review" and w["open_reviews"] == ["EXC-CNS"]

    refused = inv.post(f"/api/candidates/{number}/signatures", json={"password": "investigator-password-1"})
    assert refused.status_code == 409 and "EXC-CNS" in refused.json()["detail"]
    assert inv.post(f"/api/candidates/{number}/decisions",
                    json={"criterion_id": "INC-LVEF", "decision": "pass", "reason": "x"}).status_code == 409
    assert inv.post(f"/api/candidates/{number}/decisions",
                    json={"criterion_id": "EXC-CNS", "decision": "pass", "reason": ""}).status_code == 422

    r = inv.post(f"/api/candidates/{number}/decisions", json={
        "criterion_id": "EXC-CNS", "decision": "pass", "reason": "single febrile seizure at age 3, none since"})
    assert r.status_code == 200, r.text
    w = r.json()
    assert w["screening"]["verdict"] == "eligible" and w["open_reviews"] == []
    cns = next(k for k in w["criteria"] if k["id"] == "EXC-CNS")
    assert cns["decision"]["decision"] == "pass" and cns["decision"]["by"]["username"] == "investigator"

    wrong = inv.post(f"/api/candidates/{number}/signatures", json={"password": "not-my-password"})
    assert wrong.status_code == 403
    sig = inv.post(f"/api/candidates/{number}/signatures", json={"password": "investigator-password-1"})
    assert sig.status_code == 201, sig.text
    s = sig.json()
    assert s["valid"] is True and s["meaning"] == "I confirm eligibility for cohort SLE"
    assert s["protocol"]["id"] == "carnk-aid" and s["engine_version"] and len(s["bound_sha256"]) == 64
    assert site.client("monitor").get(f"/api/candidates/{number}").json()["candidate"]["status"] == "eligible"

    # the coordinator adds a result after the signature: the signature shows as invalidated
    site.clock.advance(minutes=10)
    r = site.client("coordinator").post(f"/api/candidates/{number}/labs", json={
        "measure": "weight", "value": 41, "unit": "kg", "date": "2026-03-01"})
    assert r.status_code == 200, r.text
    w = r.json()
    assert w["candidate"]["status"] == "screening"
    [old] = w["signatures"]
    assert old["valid"] is False and "the data changed" in old["invalidated_because"]
    # the review item itself did not change, so its decision still applies; a new signature is possible
    assert w["open_reviews"] == [] and w["screening"]["verdict"] == "eligible"
    actions = [(a.action, a.entity_type) for a in audit_rows(site)]
    assert ("invalidate", "signature") in actions
    assert actions.index(("sign", "signature")) < actions.index(("invalidate", "signature"))
    again = inv.post(f"/api/candidates/{number}/signatures", json={"password": "investigator-password-1"})
    assert again.status_code == 201
    enrolled = inv.post(f"/api/candidates/{number}/enroll", json={"subject_id": "CARNK-SLE-001"})
    assert enrolled.status_code == 200 and enrolled.json()["status"] == "enrolled"
    assert inv.post(f"/api/candidates/{number}/decisions", json={
        "criterion_id": "EXC-CNS", "decision": "fail", "reason": "after enrollment"}).status_code == 409
    log = site.client("monitor").get("/api/candidates").json()
    assert log["candidates"][0]["status"] == "enrolled" and log["counts"]["SLE"]["enrolled"] == 1


def test_changing_the_screening_dates_invalidates_the_signature(site):
    number = new_candidate(site)
    post_bundle(site, number, example("sle-eligible"))
    inv = site.client("investigator")
    signed = inv.post(f"/api/candidates/{number}/signatures", json={"password": "investigator-password-1"})
    assert signed.status_code == 201
    r = site.client("coordinator").patch(f"/api/candidates/{number}", json={"infusion": "2026-03-10",
                                                                            "reason": "infusion booked"})
    assert r.status_code == 200 and r.json()["status"] == "screening"
    [sig] = inv.get(f"/api/candidates/{number}").json()["signatures"]
    assert not sig["valid"] and "the screening dates changed" in sig["invalidated_because"]


def test_an_ineligible_candidate_is_signed_as_a_screen_failure(site):
    number = new_candidate(site, cohort="SRNS")
    post_bundle(site, number, example("srns-hepatitis-b"))
    log = site.client("coordinator").get("/api/candidates").json()["candidates"]
    assert log[0]["status"] == "ineligible" and log[0]["failing"] == ["EXC-HBV"]
    s = site.client("investigator").post(f"/api/candidates/{number}/signatures",
                                         json={"password": "investigator-password-1"}).json()
    assert s["verdict"] == "ineligible" and "not eligible for cohort SRNS" in s["meaning"]
    assert site.client("coordinator").get("/api/candidates").json()["candidates"][0]["status"] == "screen-failed"
    assert site.client("investigator").post(f"/api/candidates/{number}/enroll",
                                            json={"subject_id": "X"}).status_code == 409


def test_incomplete_screening_cannot_be_signed_and_withdrawal_needs_a_reason(site):
    number = new_candidate(site)
    post_bundle(site, number, example("sle-stale-liver-tests"))
    r = site.client("investigator").post(f"/api/candidates/{number}/signatures",
                                         json={"password": "investigator-password-1"})
    assert r.status_code == 409 and "incomplete" in r.json()["detail"]
    c = site.client("coordinator")
    assert c.post(f"/api/candidates/{number}/withdraw", json={"reason": ""}).status_code == 422
    r = c.post(f"/api/candidates/{number}/withdraw", json={"reason": "family declined"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert post_bundle(site, number, example("sle-eligible")).status_code == 409


def test_bad_uploads_are_refused_and_leave_nothing_behind(database_url):
    site = make_site(database_url, max_upload_bytes=200_000)
    try:
        number = new_candidate(site)
        before = len(audit_rows(site))
        assert post_bundle(site, number, b"x" * 200_001).status_code == 413
        r = post_bundle(site, number, b'{"resourceType": "Observation"}')
        assert r.status_code == 422 and "Observation" in r.json()["detail"]
        assert post_bundle(site, number, "{\"a\": \"\xff\"}".encode("latin-1")).status_code == 422
        assert len(audit_rows(site)) == before
        assert site.client("coordinator").get(f"/api/candidates/{number}").json()["data"] is None
        assert site.client("coordinator").get("/api/candidates/S-9999").status_code == 404
    finally:
        site.dispose()


def test_no_identifiers_in_audit_records_urls_or_logs(site, caplog):
    p = sle_eligible()
    p.resources[0]["name"] = [{"family": "Sentinel-Surname", "given": ["Ada"]}]
    p.resources[0]["identifier"] = [{"system": "urn:mrn", "value": "MRN-77-SENTINEL"}]
    p.resources[0]["id"] = "pid-sentinel-42"
    for r in p.resources[1:]:
        for key in ("subject", "patient"):
            if key in r:
                r[key] = {"reference": "Patient/pid-sentinel-42"}
    number = new_candidate(site)
    caplog.set_level("DEBUG")
    r = post_bundle(site, number, json.dumps(p.bundle()).encode())
    assert r.status_code == 200 and r.json()["patient"]["id"] == "pid-sentinel-42"
    site.client("investigator").post(f"/api/candidates/{number}/signatures",
                                     json={"password": "investigator-password-1"})
    trail = json.dumps([[a.old, a.new, a.reason, a.entity_key] for a in audit_rows(site)])
    for secret in ("Sentinel-Surname", "MRN-77-SENTINEL", "pid-sentinel-42"):
        assert secret not in trail
        assert secret not in caplog.text
    assert number in trail
