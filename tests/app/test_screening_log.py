"""Screening log: failure reasons, subject ids, counts; CSV, XLSX and SVG exports, each audited."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from .app_helpers import bundle_bytes, example, new_candidate, post_bundle
from trialdesk.app.models import AuditRecord
from trialdesk.patient.fhir.scenarios import sle_eligible

PASSWORD = {"password": "investigator-password-1"}
HEADER = ["Screening no.", "Status", "Cohort", "Subject id", "Computed", "Failing criteria", "Screen-failure reasons",
          "Open review items", "Screened (UTC)"]
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE_SUBJECT = "=HYPERLINK(\"x\")"
HOSTILE_REASON = "=1+2 seizures <b>documented</b>"


@pytest.fixture
def log_site(site):
    """Seven candidates, one of each status, over both cohorts."""
    inv, co = site.client("investigator"), site.client("coordinator")
    enrolled = new_candidate(site)                                         # S-0001 enrolled (SLE)
    post_bundle(site, enrolled, bundle_bytes(sle_eligible()))
    assert inv.post(f"/api/candidates/{enrolled}/signatures", json=PASSWORD).status_code == 201
    assert inv.post(f"/api/candidates/{enrolled}/enroll", json={"subject_id": HOSTILE_SUBJECT}).status_code == 200
    hbv = new_candidate(site, cohort="SRNS")                               # S-0002 ineligible (computed)
    post_bundle(site, hbv, example("srns-hepatitis-b"))
    seizure = new_candidate(site)                                          # S-0003 screen-failed by decision
    post_bundle(site, seizure, example("sle-old-seizure"))
    assert inv.post(f"/api/candidates/{seizure}/decisions", json={
        "criterion_id": "EXC-CNS", "decision": "fail", "reason": HOSTILE_REASON}).status_code == 200
    assert inv.post(f"/api/candidates/{seizure}/signatures", json=PASSWORD).status_code == 201
    stale = new_candidate(site)                                            # S-0004 screening (incomplete)
    post_bundle(site, stale, example("sle-stale-liver-tests"))
    new_candidate(site)                                                    # S-0005 candidate (no data)
    gone = new_candidate(site, cohort="SRNS")                              # S-0006 withdrawn
    post_bundle(site, gone, example("srns-eligible"))
    assert co.post(f"/api/candidates/{gone}/withdraw", json={"reason": "moved away"}).status_code == 200
    ok = new_candidate(site, cohort="SRNS")                                # S-0007 eligible, signed
    post_bundle(site, ok, example("srns-eligible"))
    assert inv.post(f"/api/candidates/{ok}/signatures", json=PASSWORD).status_code == 201
    return site


def the_log(site) -> dict:
    return site.client("monitor").get("/api/candidates").json()


def test_the_log_has_failure_reasons_subject_ids_and_counts(log_site):
    log = the_log(log_site)
    rows = {r["number"]: r for r in log["candidates"]}
    assert {n: r["status"] for n, r in rows.items()} == {
        "S-0001": "enrolled", "S-0002": "ineligible", "S-0003": "screen-failed", "S-0004": "screening",
        "S-0005": "candidate", "S-0006": "withdrawn", "S-0007": "eligible"}
    assert rows["S-0001"]["subject_id"] == HOSTILE_SUBJECT
    [hbv] = rows["S-0002"]["failure_reasons"]
    assert hbv["id"] == "EXC-HBV" and hbv["by"] == "engine" and "HBsAg" in hbv["reason"]
    assert rows["S-0003"]["failure_reasons"] == [{"id": "EXC-CNS", "by": "investigator", "reason": HOSTILE_REASON}]
    assert rows["S-0003"]["failing"] == ["EXC-CNS"]
    assert log["counts"]["SLE"] == {"candidate": 1, "screening": 1, "eligible": 0, "ineligible": 0,
                                    "screen-failed": 1, "enrolled": 1, "withdrawn": 0}
    assert log["counts"]["SRNS"] == {"candidate": 0, "screening": 0, "eligible": 1, "ineligible": 1,
                                     "screen-failed": 0, "enrolled": 0, "withdrawn": 1}


def expected_cells(row: dict) -> list[str]:
    """The export's cells for one JSON log row, written out independently of the exporter."""
    computed = row["verdict"] or row["overall"] or ""
    reasons = "; ".join(f"{f['id']}: {f['reason']}" for f in row["failure_reasons"])
    return [row["number"], row["status"], row["cohort"] or "", row["subject_id"] or "", computed,
            "; ".join(row["failing"]), reasons, "; ".join(row["open_reviews"]), row["screened_at"] or ""]


def test_csv_holds_exactly_the_log_rows(log_site):
    r = log_site.client("coordinator").get("/api/screening-log/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    expected = [expected_cells(row) for row in the_log(log_site)["candidates"]]
    # a spreadsheet would run a cell starting with "=" as a formula: the CSV defuses it with an apostrophe
    expected[0][3] = "'" + HOSTILE_SUBJECT
    assert table == [HEADER, *expected]


def test_xlsx_holds_exactly_the_log_rows_as_text(log_site):
    r = log_site.client("investigator").get("/api/screening-log/export.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["Screening log", "Counts"]
    sheet = wb["Screening log"]
    values = [[("" if v is None else v) for v in row] for row in sheet.iter_rows(values_only=True)]
    log = the_log(log_site)
    assert values == [HEADER, *(expected_cells(row) for row in log["candidates"])]
    subject = sheet.cell(row=2, column=4)
    assert subject.value == HOSTILE_SUBJECT and subject.data_type == "s"  # text, not a formula
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    counts = [list(row) for row in wb["Counts"].iter_rows(values_only=True)]
    statuses = counts[0][1:-1]
    assert counts[0][0] == "Cohort" and counts[0][-1] == "total"
    assert {row[0]: dict(zip(statuses, row[1:-1])) for row in counts[1:]} == log["counts"]
    assert [row[-1] for row in counts[1:]] == [sum(per.values()) for per in log["counts"].values()]


def flow_boxes(svg_text: str) -> dict[str, tuple[int, str]]:
    root = ET.fromstring(svg_text)
    assert root.tag == f"{SVG}svg"
    return {g.get("id"): (int(g.get("data-n")), " | ".join(t.text or "" for t in g.iter(f"{SVG}text")))
            for g in root.iter(f"{SVG}g") if g.get("id", "").startswith("flow-")}


def test_the_flow_figure_parses_and_its_numbers_are_the_counts(log_site):
    r = log_site.client("monitor").get("/api/screening-log/flow.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    boxes = flow_boxes(r.text)
    log = the_log(log_site)
    for cohort, per in log["counts"].items():
        want = {"assessed": sum(per.values()), "excluded": per["ineligible"] + per["screen-failed"] + per["withdrawn"],
                "screening": per["candidate"] + per["screening"], "eligible": per["eligible"] + per["enrolled"],
                "enrolled": per["enrolled"]}
        for box, n in want.items():
            got_n, text = boxes[f"flow-{cohort}-{box}"]
            assert got_n == n and f"(n = {n})" in text.split(" | ")[0], (cohort, box, text)
        assert want["assessed"] == want["excluded"] + want["screening"] + want["eligible"]
    assert set(boxes) == {f"flow-{c}-{b}" for c in log["counts"]
                          for b in ("assessed", "excluded", "screening", "eligible", "enrolled")}
    assert "EXC-HBV" in boxes["flow-SRNS-excluded"][1] and "Withdrawn (n = 1)" in boxes["flow-SRNS-excluded"][1]
    assert "EXC-CNS" in boxes["flow-SLE-excluded"][1]
    assert "awaiting enrollment (n = 1)" in boxes["flow-SRNS-eligible"][1]


def test_an_empty_log_exports_headers_and_an_empty_figure(site):
    c = site.client("coordinator")
    assert list(csv.reader(io.StringIO(c.get("/api/screening-log/export.csv").text))) == [HEADER]
    ws = load_workbook(io.BytesIO(c.get("/api/screening-log/export.xlsx").content))["Screening log"]
    assert [list(r) for r in ws.iter_rows(values_only=True)] == [HEADER]
    assert flow_boxes(c.get("/api/screening-log/flow.svg").text) == {}


def test_every_export_is_audited_with_the_hash_of_the_file(log_site):
    sent = {}
    for fmt, path in (("csv", "export.csv"), ("xlsx", "export.xlsx"), ("svg", "flow.svg")):
        r = log_site.client("coordinator").get(f"/api/screening-log/{path}")
        assert r.status_code == 200
        sent[fmt] = hashlib.sha256(r.content).hexdigest()
    with log_site.db() as db:
        rows = db.execute(select(AuditRecord).where(AuditRecord.entity_type == "screening_log")
                          .order_by(AuditRecord.seq)).scalars().all()
    assert [(a.action, a.history_type, a.actor, a.entity_key) for a in rows] == [
        ("export", "=", "coordinator", "screening_log")] * 3
    assert [json.loads(a.new) for a in rows] == [{"format": f, "rows": 7, "sha256": sent[f]} for f in sent]
    trail = json.dumps([[a.old, a.new, a.reason] for a in rows])
    assert HOSTILE_SUBJECT not in trail and "S-0001" not in trail


def test_the_log_page_links_the_exports_and_shows_the_reasons(log_site):
    page = log_site.client("monitor").get("/candidates")
    assert page.status_code == 200
    for html in ('id="export-csv" href="/api/screening-log/export.csv"',
                 'id="export-xlsx" href="/api/screening-log/export.xlsx"',
                 'id="export-flow" href="/api/screening-log/flow.svg"'):
        assert html in page.text
    assert "=1+2 seizures &lt;b&gt;documented&lt;/b&gt;" in page.text and "(investigator)" in page.text
