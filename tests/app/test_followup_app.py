"""Follow-up in the site application (issue 6) through the API and the pages, on SQLite and PostgreSQL:
storage as append-only versions, entries checked by the follow-up file reader, roles, the subject view
(schedule, endpoints, CRS/ICANS grades, DLT window), figures, cohort tables and audited SDTM exports."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from xml.etree import ElementTree

from sqlalchemy import func, select

from .test_milestones import male_sle, relogin, signed_candidate
from trialdesk.app.audit import verify
from trialdesk.app.models import AuditRecord, FollowupVersion

INFUSION = "2026-03-12"  # the candidate's infusion date; the clock starts on 2026-03-02


def enrolled(site, subject_id: str = "CARNK-SLE-001", **dates) -> str:
    number = signed_candidate(site, male_sle(), enrollment="2026-03-04", infusion=INFUSION, **dates)
    r = site.client("investigator").post(f"/api/candidates/{number}/enroll", json={"subject_id": subject_id})
    assert r.status_code == 200, r.text
    return number


def day(n: int) -> str:
    return (date.fromisoformat(INFUSION) + timedelta(days=n)).isoformat()


def to_day(site, n: int) -> None:
    """Move the clock to protocol day ``n`` (the sessions expire on the way: log in again)."""
    site.clock.now = datetime.fromisoformat(f"{day(n)}T10:00:00").replace(tzinfo=timezone.utc)
    relogin(site)


def post(site, role: str, number: str, what: str, body: dict):
    return site.client(role).post(f"/api/candidates/{number}/followup/{what}", json=body)


def view(site, number: str, role: str = "monitor") -> dict:
    r = site.client(role).get(f"/api/candidates/{number}/followup")
    assert r.status_code == 200, r.text
    return r.json()


def versions(site, number: str) -> list[dict]:
    return site.client("monitor").get(f"/api/candidates/{number}/followup/versions").json()


def csv_rows(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def walk_to_day_28(site, number: str) -> None:
    """Dosing, a CRS episode on day 1 (fever + low-flow oxygen: grade 2), an ALT of 5.5 x ULN on day 28
    (CTCAE grade 3) and the adverse event the investigator records for the CRS."""
    to_day(site, 29)
    for n in (-5, -4, -3):
        assert post(site, "coordinator", number, "doses", {"dose": {
            "kind": "lymphodepletion", "agent": "fludarabine", "dose": 30, "unit": "mg/m2", "date": day(n),
            "lot": "FLU-1"}}).status_code == 201
    assert post(site, "coordinator", number, "doses", {"dose": {
        "kind": "car-nk", "agent": "anti-CD19 CAR-NK", "dose": 2e9, "unit": "cells", "date": INFUSION,
        "lot": "KN-7"}}).status_code == 201
    r = post(site, "coordinator", number, "visits", {"visit": {
        "visit": "d1", "date": day(1), "vitals": {"temperature": 38.7, "spo2": 91},
        "crs": {"fever": "yes", "hypotension": "none", "hypoxia": "low-flow"},
        "icans": {"consciousness": "alert", "seizure": "none", "motor_weakness": "no", "cerebral_edema": "none",
                  "ice": 10}}})
    assert r.status_code == 201, r.text
    r = post(site, "coordinator", number, "visits", {"visit": {
        "visit": "d28", "date": day(28), "labs": {"alt": {"value": 220, "unit": "U/L", "high": 40},
                                                  "cd19": {"value": 2, "unit": "/uL"}}}})
    assert r.status_code == 201, r.text
    r = post(site, "investigator", number, "adverse-events", {"adverse_event": {
        "term": "Cytokine release syndrome", "grade": 2, "onset": day(1), "resolved": day(3), "serious": False,
        "related": True}})
    assert r.status_code == 201, r.text


def test_enrolled_subject_through_day_28(site):
    number = enrolled(site)
    walk_to_day_28(site, number)
    v = view(site, number)
    assert v["candidate"] == {"number": number, "subject_id": "CARNK-SLE-001", "cohort": "SLE", "infusion": INFUSION}
    assert v["study_day"] == 29 and v["version"]["version"] == 7
    summary = {o["endpoint"]: o for o in v["summary"]}
    assert summary["worst-crs"]["value"] == 2 and summary["worst-icans"]["value"] == 0
    assert summary["worst-lab-toxicity"]["value"] == 3
    assert [(g["kind"], g["date"], g["grade"]) for g in v["graded"]] == [("crs", day(1), 2), ("icans", day(1), 0)]
    assert {(g["test"], g["grade"]) for g in v["lab_grades"]} == {("alt", 3)}
    assert v["dlt_window"]["from"] == INFUSION and v["dlt_window"]["to"] == day(28)
    # no DLT candidate (CRS grade 2, the related AE grade 2; the ALT grade 3 is a lab result, not an AE),
    # but only day 1 has a CRS/ICANS assessment: the other daily checks are missing, so no conclusion
    assert v["dlt_window"]["outcome"]["status"] == "not evaluable"
    assert "d2 (" in v["dlt_window"]["outcome"]["missing"][0]
    status = {x["visit"]: x for x in v["schedule"]}
    assert status["d1"]["status"] == "done" and status["d28"]["done"] == day(28)
    assert status["d2"]["status"] == "overdue" and status["m2"]["status"] == "upcoming"
    assert "cbc" in status["d28"]["missing"] and "chemistry" in status["d28"]["missing"]
    assert not status["d28"]["out_of_window"]
    assert any(e["visit"] == "d28" and any(o["endpoint"] == "cd19-depleted" and o["status"] == "met"
                                           for o in e["endpoints"]) for e in v["endpoints"])

    # the exports show the AE row and the flagged ALT row; each export is audited with the file's hash
    mon = site.client("monitor")
    ae = mon.get("/api/followup/export.csv", params={"domain": "ae"})
    assert ae.status_code == 200 and ae.headers["content-type"].startswith("text/csv")
    [row] = csv_rows(ae.content)
    assert row["USUBJID"] == "carnk-aid-CARNK-SLE-001" and row["AETERM"] == "Cytokine release syndrome"
    assert row["AETOXGR"] == "2" and row["AEREL"] == "RELATED" and row["AESTDY"] == "2"
    lb = {r["LBTESTCD"]: r for r in csv_rows(mon.get("/api/followup/export.csv", params={"domain": "lb"}).content)}
    assert lb["ALT"]["LBNRIND"] == "HIGH" and lb["ALT"]["LBTOXGR"] == "3" and lb["ALT"]["VISIT"] == "d28"
    assert lb["ALT"]["LBDY"] == "29"
    z = mon.get("/api/followup/export.zip")
    names = zipfile.ZipFile(io.BytesIO(z.content)).namelist()
    assert names == ["dm.csv", "ex.csv", "ae.csv", "lb.csv", "vs.csv", "subjects.csv"]
    ex = csv_rows(zipfile.ZipFile(io.BytesIO(z.content)).read("ex.csv"))
    assert [r["EXCAT"] for r in ex] == ["LYMPHODEPLETION"] * 3 + ["CAR-NK"]
    summary_row = csv_rows(zipfile.ZipFile(io.BytesIO(z.content)).read("subjects.csv"))[0]
    assert summary_row["WCRSGR"] == "2" and summary_row["WLBTOXGR"] == "3"
    with site.db() as db:
        exports = db.execute(select(AuditRecord).where(AuditRecord.action == "export",
                                                       AuditRecord.entity_type == "followup")
                             .order_by(AuditRecord.seq)).scalars().all()
    assert [json.loads(e.new)["format"] for e in exports] == ["csv", "csv", "zip"]
    assert json.loads(exports[-1].new)["sha256"] == hashlib.sha256(z.content).hexdigest()
    assert json.loads(exports[0].new)["rows"] == {"ae": 1}

    # the timeline and the swimmer plot are SVG documents
    svg = mon.get(f"/api/candidates/{number}/followup/timeline.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert ElementTree.fromstring(svg.content).tag.endswith("svg")
    # matplotlib writes each text drawn as paths as a comment: the CRS grade, the ALT grade, the AE bar
    for label in ("G2", "ALT G3", "Cytokine release syndrome G2"):
        assert f"<!-- {label} -->".encode() in svg.content, label
    png = mon.get(f"/api/candidates/{number}/followup/timeline.png", params={"download": "true"})
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n" and "attachment" in png.headers["content-disposition"]
    assert ElementTree.fromstring(mon.get("/api/followup/swimmer.svg").content).tag.endswith("svg")
    cohort = mon.get("/api/followup/cohort").json()
    assert cohort["visit"] == "d28" and [s["subject_id"] for s in cohort["subjects"]] == ["CARNK-SLE-001"]
    tox = {(t["cohort"], t["endpoint"]): t for t in cohort["toxicity"]}
    assert tox[("SLE", "worst-crs")]["by_grade"] == {"2": 1}


def test_entries_are_checked_like_the_file_and_refusals_store_nothing(site):
    number = enrolled(site)
    to_day(site, 5)
    bad = [
        ("visits", {"visit": {"visit": "d1", "date": day(1), "labs": {"alt": {"value": 50, "unit": "mg/day"}}}},
         "visits[0].labs.alt.unit"),
        ("visits", {"visit": {"visit": "d1", "date": day(1), "crs": {"grade": 2}}}, "visits[0].crs"),
        ("visits", {"visit": {"visit": "d99", "date": day(1)}}, "visits[0].visit"),
        ("visits", {"visit": {"visit": "d1", "date": "12.03.2026"}}, "visits[0].date"),
        ("visits", {"visit": {"visit": "d1", "date": day(1), "icans": {
            "consciousness": "alert", "seizure": "none", "motor_weakness": "no", "cerebral_edema": "none",
            "ice": 11}}}, "visits[0].icans.ice"),
        ("visits", {"visit": {"visit": "d1", "date": day(1), "vitals": {"spo2": 140}}}, "visits[0].vitals.spo2"),
        ("doses", {"dose": {"kind": "booster", "agent": "x", "dose": 1, "unit": "mg", "date": day(0)}},
         "doses[0].kind"),
        ("medications", {"medication": {"drug": "prednisone", "kind": "glucocorticoid", "start": day(2),
                                        "end": day(1)}}, "medications[0].end"),
    ]
    for what, body, where in bad:
        r = post(site, "coordinator", number, what, body)
        assert r.status_code == 422, (what, body, r.text)
        assert r.json()["where"] == where and r.json()["why"], r.json()
    r = post(site, "investigator", number, "adverse-events", {"adverse_event": {
        "term": "Fever", "grade": 6, "onset": day(1), "serious": False, "related": True}})
    assert r.status_code == 422 and r.json()["where"] == "adverse_events[0].grade"
    assert versions(site, number) == []
    with site.db() as db:
        assert db.execute(select(func.count()).select_from(FollowupVersion)).scalar_one() == 0
        assert db.execute(select(func.count()).select_from(AuditRecord)
                          .where(AuditRecord.entity_type == "followup")).scalar_one() == 0


def test_roles_investigator_values_and_reasons(site):
    number = enrolled(site)
    to_day(site, 3)
    ae = {"term": "Fever", "grade": 1, "onset": day(1), "serious": False, "related": True}
    assert post(site, "coordinator", number, "adverse-events", {"adverse_event": ae}).status_code == 403
    assert post(site, "monitor", number, "doses", {"dose": {}}).status_code == 403
    pga = {"visit": {"visit": "d1", "date": day(1), "pga": 0.5}}
    r = post(site, "coordinator", number, "visits", pga)
    assert r.status_code == 403 and "pga" in r.json()["detail"]
    assert post(site, "coordinator", number, "visits", {"visit": {"visit": "d1", "date": day(1),
                                                                  "sledai": ["arthritis"]}}).status_code == 201
    assert post(site, "investigator", number, "visits", pga).status_code == 201
    assert post(site, "investigator", number, "adverse-events", {"adverse_event": ae}).status_code == 201
    # a coordinator's import may not change the investigator's values; one that keeps them is fine
    doc = site.client("coordinator").get(f"/api/candidates/{number}/followup/document",
                                         params={"format": "json"}).json()["subjects"][0]
    changed = {**doc, "adverse_events": [{**ae, "related": False}]}
    r = site.client("coordinator").post(f"/api/candidates/{number}/followup", json=changed,
                                        params={"reason": "import"})
    assert r.status_code == 403 and "adverse_events[0].related" in r.json()["detail"]
    kept = {**doc, "last_contact": day(3)}
    assert site.client("coordinator").post(f"/api/candidates/{number}/followup", json=kept).status_code == 201

    # changing a recorded value needs a reason; the old version stays as it was
    before = versions(site, number)
    fix = {"adverse_event": {**ae, "grade": 2}, "replaces": 0}
    r = post(site, "investigator", number, "adverse-events", fix)
    assert r.status_code == 422 and r.json()["where"] == "reason" and "adverse_events[0].grade" in r.json()["why"]
    r = post(site, "investigator", number, "adverse-events", {**fix, "replaces": 5, "reason": "x"})
    assert r.status_code == 422 and r.json()["where"] == "replaces"
    r = post(site, "investigator", number, "adverse-events", {**fix, "reason": "graded again with the nurse's notes"})
    assert r.status_code == 201
    after = versions(site, number)
    assert after[:-1] == before and after[-1]["version"] == before[-1]["version"] + 1
    with site.db() as db:
        first = db.execute(select(FollowupVersion).where(FollowupVersion.version == 1)).scalar_one()
        assert first.sha256 == before[0]["sha256"]
        record = db.execute(select(AuditRecord).where(AuditRecord.entity_type == "followup",
                                                      AuditRecord.action == "correct")).scalar_one()
    assert json.loads(record.old)["values"] == {"adverse_events[0].grade": 1}
    assert json.loads(record.new)["values"] == {"adverse_events[0].grade": 2}
    assert record.reason == "graded again with the nurse's notes" and record.history_type == "~"
    assert "2009" not in (record.old + record.new)  # no birth date in the trail

    # sending the same entry again stores nothing new
    assert post(site, "investigator", number, "visits", pga).json()["version"] == after[-1]["version"]


def test_not_enrolled_no_infusion_and_header_from_the_candidate(site):
    signed = signed_candidate(site, male_sle())
    r = site.client("coordinator").get(f"/api/candidates/{signed}/followup")
    assert r.status_code == 409 and "not enrolled" in r.json()["detail"]
    page = site.client("coordinator").get(f"/candidates/{signed}/followup")
    assert page.status_code == 200 and 'id="followup-unavailable"' in page.text and "not enrolled" in page.text
    number = signed_candidate(site, male_sle(), enrollment="2026-03-04")
    site.client("investigator").post(f"/api/candidates/{number}/enroll", json={"subject_id": "S-2"})
    r = site.client("coordinator").get(f"/api/candidates/{number}/followup")
    assert r.status_code == 409 and "infusion" in r.json()["detail"]

    number = enrolled(site, subject_id="SLE-77")
    doc = site.client("monitor").get(f"/api/candidates/{number}/followup/document").text
    assert "sex: male" in doc and "birth_date: '2009-06-15'" in doc and "id: SLE-77" in doc
    r = site.client("coordinator").post(f"/api/candidates/{number}/followup",
                                        content=b"id: SLE-78\nvisits: []\n",
                                        headers={"Content-Type": "application/yaml"})
    assert r.status_code == 422 and r.json()["where"] == "id"


def test_import_yaml(site):
    number = enrolled(site)
    to_day(site, 2)
    text = f"""protocol: carnk-aid
subjects:
  - cohort: SLE
    infusion: {INFUSION}
    doses:
      - {{kind: car-nk, agent: anti-CD19 CAR-NK, dose: 2.0e+9, unit: cells, date: {INFUSION}, lot: KN-7}}
    visits:
      - visit: d1
        date: {day(1)}
        crs: {{fever: yes, hypotension: no-vasopressor, hypoxia: none}}
""".encode()
    c = site.client("coordinator")
    r = c.post(f"/api/candidates/{number}/followup", content=text, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    assert [g["grade"] for g in view(site, number)["graded"]] == [2]
    for body, where in ((b"a: &x [1]\nb: *x\n", "document"), (b"protocol: other\nsubjects: [{}]\n", "protocol"),
                        (b"visits: [{visit: d1, date: 2026-03-13, fhir: x}]", "visits[0]"),
                        (b"fhir: bundle.json\nvisits: []", "fhir"), (b"\xff\xfe", "document")):
        r = c.post(f"/api/candidates/{number}/followup", content=body, headers={"Content-Type": "application/yaml"},
                   params={"reason": "x"})
        assert r.status_code == 422 and r.json()["where"] == where, (body, r.text)
    assert len(versions(site, number)) == 1


def test_pages(site):
    number = enrolled(site)
    walk_to_day_28(site, number)
    inv = site.client("investigator")
    page = inv.get(f"/candidates/{number}/followup")
    assert page.status_code == 200
    for html_id in ('id="safety-worst-crs"', f'id="graded-crs-{day(1)}"', f'id="lab-grade-alt-{day(28)}"',
                    'id="visit-d28"', 'id="timeline-img"', 'id="followup-adverse-events"', 'id="followup-activity"'):
        assert html_id in page.text, html_id
    assert 'id="followup-adverse-events"' not in site.client("coordinator").get(f"/candidates/{number}/followup").text
    assert 'id="followup-forms"' not in site.client("monitor").get(f"/candidates/{number}/followup").text
    csrf = inv.headers["X-CSRF-Token"]
    r = inv.post(f"/candidates/{number}/followup/crs-icans", data={
        "csrf_token": csrf, "visit": "d2", "date": day(2), "crs-fever": "yes", "crs-hypotension": "one-vasopressor",
        "crs-hypoxia": "none"})
    assert r.status_code == 303 and r.headers["location"] == f"/candidates/{number}/followup#followup-crs-icans"
    assert max(g["grade"] for g in view(site, number)["graded"]) == 3
    r = inv.post(f"/candidates/{number}/followup/visits", data={
        "csrf_token": csrf, "visit": "d3", "date": day(3), "lab-alt-value": "abc", "lab-alt-unit": "U/L"})
    assert r.status_code == 422 and "visits[" in r.text and "labs.alt.value" in r.text
    r = inv.post(f"/candidates/{number}/followup/import", data={"csrf_token": csrf},
                 files={"document": ("f.yaml", b"visits: [{visit: d4, date: " + day(4).encode() + b"}]",
                                     "application/yaml")})
    assert r.status_code == 422 and "reason" in r.text  # it would remove the recorded data
    cohort = site.client("monitor").get("/followup")
    assert cohort.status_code == 200 and 'id="export-ae"' in cohort.text and 'id="swimmer-img"' in cohort.text


def test_concurrent_entries_lose_nothing_and_a_stale_version_is_refused(site):
    number = enrolled(site)
    to_day(site, 0)
    clients = [site.client("coordinator"), site.client("investigator")]

    def dose(i: int):
        return clients[i % 2].post(f"/api/candidates/{number}/followup/doses", json={"dose": {
            "kind": "lymphodepletion", "agent": f"agent-{i}", "dose": 30, "unit": "mg/m2", "date": day(-5)}})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(dose, range(8)))
    assert [r.status_code for r in answers] == [201] * 8
    assert [v["version"] for v in versions(site, number)] == list(range(1, 9))
    assert sorted(d["agent"] for d in view(site, number)["doses"]) == sorted(f"agent-{i}" for i in range(8))
    with site.db() as db:
        assert verify(db).ok

    row_version = site.client("monitor").get(f"/api/candidates/{number}").json()["candidate"]["row_version"]
    r = site.client("coordinator").post(
        f"/api/candidates/{number}/followup/doses", headers={"If-Match": str(row_version - 1)},
        json={"dose": {"kind": "car-nk", "agent": "x", "dose": 1, "unit": "cells", "date": day(0)}})
    assert r.status_code == 409 and len(versions(site, number)) == 8


def test_schedule_due_overdue_and_out_of_window(site):
    number = enrolled(site)
    to_day(site, 26)  # d21 (+-2) closed on day 23; d28 (+-3) opens on day 25
    status = {x["visit"]: x for x in view(site, number)["schedule"]}
    assert status["d21"]["status"] == "overdue" and status["d28"]["status"] == "due"
    assert status["d28"]["opens"] == day(25) and status["d28"]["closes"] == day(31)
    assert status["m2"]["status"] == "upcoming"
    items = [i["item"] for i in status["d28"]["collects"]]  # schedule.yaml: "all" items, then the SLE ones
    assert items[:3] == ["vitals", "weight", "cbc"] and items[-1] == "bilag" and status["d28"]["missing"] == {}
    assert post(site, "coordinator", number, "visits", {"visit": {"visit": "d21", "date": day(26),
                                                                  "vitals": {"temperature": 36.5}}}).status_code == 201
    status = {x["visit"]: x for x in view(site, number)["schedule"]}
    assert status["d21"]["status"] == "done" and status["d21"]["out_of_window"] is True
    assert "cbc" in status["d21"]["missing"] and "vitals" not in status["d21"]["missing"]
    assert status["d28"]["out_of_window"] is False
