"""Milestone re-checks: a signed candidate screened again as of enrollment, lymphodepletion and infusion,
with the drift against the signed screening."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select, update

from .app_helpers import AS_OF, bundle_bytes, example, new_candidate, post_bundle
from trialdesk.app.models import AuditRecord, Screening
from trialdesk.patient.fhir.builder import ICD10, RXNORM
from trialdesk.patient.fhir.scenarios import sle_eligible

PASSWORD = {"password": "investigator-password-1"}
AST, ALT = "1920-8", "1742-6"


def male_sle(liver_days_before: int = 5):
    """The eligible SLE scenario for a boy (no pregnancy test to expire), liver tests ``liver_days_before``."""
    p = sle_eligible(gender="male", pid="milestone-boy")
    for r in p.resources:
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] in (AST, ALT):
            r["effectiveDateTime"] = p.day(liver_days_before)
    return p


def signed_candidate(site, patient, **dates) -> str:
    number = new_candidate(site, **dates)
    r = post_bundle(site, number, bundle_bytes(patient))
    assert r.status_code == 200 and r.json()["results"][0]["overall"] == "eligible", r.text
    s = site.client("investigator").post(f"/api/candidates/{number}/signatures", json=PASSWORD)
    assert s.status_code == 201, s.text
    return number


def milestones(site, number: str, role: str = "monitor") -> dict:
    r = site.client(role).get(f"/api/candidates/{number}/milestones")
    assert r.status_code == 200, r.text
    return r.json()


def by_name(m: dict) -> dict:
    return {x["milestone"]: x for x in m["milestones"]}


def test_a_lab_expiring_before_infusion_drifts_on_that_criterion_only(site):
    number = signed_candidate(site, male_sle(liver_days_before=20), enrollment="2026-03-05", infusion="2026-03-16")
    signed = site.client("monitor").get(f"/api/candidates/{number}").json()
    liver = next(k for k in signed["criteria"] if k["id"] == "INC-LIVER")
    # the premise, read from the signed screening: the liver tests lapse between enrollment and infusion
    assert liver["outcome"] == "pass" and "2026-03-05" <= liver["valid_until"] < "2026-03-16"

    enrolled = site.client("investigator").post(f"/api/candidates/{number}/enroll", json={"subject_id": "SLE-01"})
    assert enrolled.status_code == 200
    got = milestones(site, number)
    assert got["candidate"]["status"] == "enrolled" and got["signature"]["valid"] is True
    m = by_name(got)
    assert m["enrollment"]["status"] == "checked" and m["enrollment"]["drift"] == []
    assert m["enrollment"]["verdict"] == "eligible"
    assert m["infusion"]["drift"] == ["INC-LIVER"]
    [row] = [k for k in m["infusion"]["criteria"] if k["drift"]]
    assert row["signed"]["outcome"] == "pass" and row["now"]["outcome"] == "unknown"
    assert row["why"].startswith("pass -> unknown: ") and row["now"]["reason"] in row["why"]
    assert {n["what"] for n in row["now"]["needs"]} == {"AST", "ALT"}
    assert m["infusion"]["verdict"] == "incomplete" and m["infusion"]["projected"] is True
    assert m["lymphodepletion"] == {"milestone": "lymphodepletion", "label": "Lymphodepletion", "date": None,
                                    "status": "not_set"}


def test_a_new_infection_after_signing_drifts(site):
    number = signed_candidate(site, male_sle(), enrollment="2026-03-04", infusion="2026-03-12")
    site.clock.advance(days=8)  # 2026-03-10: a urinary tract infection, treated with amoxicillin
    relogin(site)
    p = male_sle()
    p.condition(ICD10, "N39.0", "Urinary tract infection, site not specified", "2026-03-08")
    p.drug(RXNORM, "723", "amoxicillin", "2026-03-09", "2026-03-10")
    assert post_bundle(site, number, bundle_bytes(p)).status_code == 200

    m = milestones(site, number)
    assert m["signature"]["valid"] is False and "the data changed" in m["signature"]["invalidated_because"]
    assert m["data"]["version"] == 2 and m["signature"]["data_version"] == 1
    got = by_name(m)
    assert got["enrollment"]["drift"] == []  # 2026-03-04: the infection had not started
    assert got["infusion"]["drift"] == ["EXC-INFECTION"]
    [row] = [k for k in got["infusion"]["criteria"] if k["drift"]]
    assert (row["signed"]["outcome"], row["now"]["outcome"]) == ("pass", "fail")
    assert got["infusion"]["verdict"] == "ineligible"


def test_no_drift_when_nothing_changed_and_the_lymphodepletion_date_keeps_the_signature(site):
    number = signed_candidate(site, male_sle(), enrollment="2026-03-04", infusion="2026-03-09")
    screenings_before = _count(site, Screening)
    r = site.client("coordinator").patch(f"/api/candidates/{number}", json={"lymphodepletion": "2026-03-06",
                                                                            "reason": "conditioning booked"})
    assert r.status_code == 200, r.text
    assert r.json()["lymphodepletion"] == "2026-03-06" and r.json()["status"] == "eligible"
    assert _count(site, Screening) == screenings_before  # not a screening input: no re-screen, signature holds
    with site.db() as db:
        change = db.execute(select(AuditRecord).where(AuditRecord.action == "change")
                            .order_by(AuditRecord.seq.desc())).scalars().first()
    assert json.loads(change.new) == {"lymphodepletion": "2026-03-06"} and change.reason == "conditioning booked"

    m = milestones(site, number)
    assert m["signature"]["valid"] is True
    assert [(x["milestone"], x["date"], x["status"], x["drift"], x["verdict"]) for x in m["milestones"]] == [
        ("enrollment", "2026-03-04", "checked", [], "eligible"),
        ("lymphodepletion", "2026-03-06", "checked", [], "eligible"),
        ("infusion", "2026-03-09", "checked", [], "eligible")]
    assert all(not k["drift"] and k["signed"]["outcome"] == k["now"]["outcome"]
               for x in m["milestones"] for k in x["criteria"])


def test_missing_milestone_dates_are_not_set_and_an_unsigned_candidate_cannot_be_rechecked(site):
    number = new_candidate(site)
    post_bundle(site, number, bundle_bytes(male_sle()))
    r = site.client("monitor").get(f"/api/candidates/{number}/milestones")
    assert r.status_code == 409 and "not been signed" in r.json()["detail"]
    page = site.client("monitor").get(f"/candidates/{number}/milestones")
    assert page.status_code == 200 and 'id="milestones-unavailable"' in page.text

    site.client("investigator").post(f"/api/candidates/{number}/signatures", json=PASSWORD)
    m = milestones(site, number)
    assert [(x["milestone"], x["date"], x["status"]) for x in m["milestones"]] == [
        ("enrollment", None, "not_set"), ("lymphodepletion", None, "not_set"), ("infusion", None, "not_set")]
    assert all("drift" not in x for x in m["milestones"])


def test_a_screen_failure_has_no_milestones(site):
    number = new_candidate(site, cohort="SRNS", infusion="2026-03-09")
    post_bundle(site, number, example("srns-hepatitis-b"))
    assert site.client("investigator").post(f"/api/candidates/{number}/signatures", json=PASSWORD).status_code == 201
    r = site.client("coordinator").get(f"/api/candidates/{number}/milestones")
    assert r.status_code == 409 and "screen failure" in r.json()["detail"]


def test_a_signed_review_decision_still_applies_at_the_milestones(site):
    number = new_candidate(site, enrollment="2026-03-03", infusion="2026-03-05")
    post_bundle(site, number, example("sle-old-seizure"))
    inv = site.client("investigator")
    assert inv.post(f"/api/candidates/{number}/decisions", json={
        "criterion_id": "EXC-CNS", "decision": "pass", "reason": "one febrile seizure at 3"}).status_code == 200
    assert inv.post(f"/api/candidates/{number}/signatures", json=PASSWORD).status_code == 201
    infusion = by_name(milestones(site, number))["infusion"]
    cns = next(k for k in infusion["criteria"] if k["id"] == "EXC-CNS")
    assert cns["now"]["outcome"] == "review" and cns["now"]["decision_applies"] is True
    assert cns["now"]["effective"] == "pass" and not cns["drift"]
    assert infusion["drift"] == [] and infusion["verdict"] == "eligible"


def test_a_review_decision_made_on_another_finding_drifts(site):
    number = new_candidate(site, enrollment="2026-03-03", infusion="2026-03-05")
    post_bundle(site, number, example("sle-old-seizure"))
    inv = site.client("investigator")
    inv.post(f"/api/candidates/{number}/decisions", json={
        "criterion_id": "EXC-CNS", "decision": "pass", "reason": "one seizure in 2025, none since"})
    assert inv.post(f"/api/candidates/{number}/signatures", json=PASSWORD).status_code == 201
    bundle = json.loads(example("sle-old-seizure"))  # a second, older seizure turns up in the records
    [seizure] = [e for e in bundle["entry"] if e["resource"].get("id") == "condition-31"]
    older = json.loads(json.dumps(seizure))
    older["fullUrl"] = "urn:uuid:c-32"
    older["resource"].update(id="c-32", onsetDateTime="2024-01-10")
    bundle["entry"].append(older)
    assert post_bundle(site, number, json.dumps(bundle).encode()).status_code == 200

    enrollment = by_name(milestones(site, number))["enrollment"]
    assert enrollment["drift"] == ["EXC-CNS"] and enrollment["verdict"] == "needs_review"
    [cns] = [k for k in enrollment["criteria"] if k["drift"]]
    assert cns["signed"]["outcome"] == cns["now"]["outcome"] == "review"
    assert cns["signed"]["effective"] == "pass" and cns["now"]["decision_applies"] is False
    assert "must decide again" in cns["why"]


def test_milestone_dates_out_of_order_are_refused_and_change_nothing(site):
    number = new_candidate(site, enrollment="2026-03-04", infusion="2026-03-09")
    c = site.client("coordinator")
    before = _count(site, AuditRecord)
    r = c.patch(f"/api/candidates/{number}", json={"lymphodepletion": "2026-03-10"})
    assert r.status_code == 422 and "lymphodepletion" in r.json()["detail"] and "2026-03-09" in r.json()["detail"]
    r = c.post("/api/candidates", json={"cohort": "SLE", "as_of": AS_OF, "enrollment": "2026-03-08",
                                        "lymphodepletion": "2026-03-06"})
    assert r.status_code == 422
    assert _count(site, AuditRecord) == before
    assert c.get(f"/api/candidates/{number}").json()["candidate"]["lymphodepletion"] is None


def test_a_changed_signed_screening_is_reported_not_compared(site):
    number = signed_candidate(site, male_sle(), infusion="2026-03-09")
    with site.db() as db:
        s = db.execute(select(Screening).order_by(Screening.id.desc())).scalars().first()
        tampered = json.loads(s.result)
        tampered["results"][0]["criteria"][0]["outcome"] = "fail"
        db.execute(update(Screening).where(Screening.id == s.id).values(result=json.dumps(tampered)))
        db.commit()
    r = site.client("monitor").get(f"/api/candidates/{number}/milestones")
    assert r.status_code == 409 and "does not match the signature" in r.json()["detail"]


def test_the_milestone_page_highlights_drift_and_sets_dates(site):
    number = signed_candidate(site, male_sle(liver_days_before=20), enrollment="2026-03-05", infusion="2026-03-16")
    c = site.client("coordinator")
    page = c.get(f"/candidates/{number}/milestones")
    assert page.status_code == 200
    for html_id in ('id="milestone-enrollment"', 'id="milestone-infusion-drift"', 'id="drift-infusion-INC-LIVER"',
                    'id="milestone-lymphodepletion-not-set"', 'id="milestone-date-lymphodepletion"'):
        assert html_id in page.text
    assert 'id="drift-enrollment-' not in page.text and "pass -&gt; unknown" in page.text
    assert f'href="/candidates/{number}/milestones"' in c.get(f"/candidates/{number}").text

    csrf = c.headers["X-CSRF-Token"]
    r = c.post(f"/candidates/{number}/milestones", data={
        "csrf_token": csrf, "enrollment": "2026-03-05", "lymphodepletion": "2026-03-14", "infusion": "2026-03-16"})
    assert r.status_code == 303 and r.headers["location"] == f"/candidates/{number}/milestones"
    m = by_name(milestones(site, number))
    assert m["lymphodepletion"]["date"] == "2026-03-14" and m["lymphodepletion"]["drift"] == ["INC-LIVER"]
    assert m["enrollment"]["drift"] == [] and m["infusion"]["drift"] == ["INC-LIVER"]
    bad = c.post(f"/candidates/{number}/milestones", data={
        "csrf_token": csrf, "enrollment": "2026-03-05", "lymphodepletion": "2026-03-20", "infusion": "2026-03-16"})
    assert bad.status_code == 422 and "before the lymphodepletion date" in bad.text


def relogin(site) -> None:
    """The sessions have expired after days on the clock: log in again."""
    for client in site.clients.values():
        client.close()
    site.clients.clear()


def _count(site, model) -> int:
    with site.db() as db:
        return len(db.execute(select(model)).scalars().all())


def test_a_milestone_after_today_is_marked_projected(site):
    number = signed_candidate(site, male_sle(), infusion="2026-03-09")
    assert site.clock.now.date() == date(2026, 3, 2)
    infusion = by_name(milestones(site, number))["infusion"]
    assert infusion["projected"] is True and infusion["drift"] == []
    page = site.client("investigator").get(f"/candidates/{number}/milestones").text
    summary = page.split('id="milestone-infusion-summary"')[1].split("</p>")[0]
    assert "No drift so far" in summary and "check again on the day" in summary
