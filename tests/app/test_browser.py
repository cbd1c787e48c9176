"""End to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The application runs in a real HTTP server on SQLite and on PostgreSQL (fixtures in
``browser.py``). A coordinator logs in, creates a candidate, imports a FHIR bundle that lacks the
AST result and has an old seizure, enters the missing AST by form; the investigator decides the
review item, signs and, after a data change invalidated that signature, signs again and enrolls;
the monitor finds all of it in the audit trail. Screenshots of the checklist, the screening log
and the audit trail go to ``artifacts/e2e/``.
"""

from __future__ import annotations

import json
from pathlib import Path

from .app_helpers import EXAMPLES, PASSWORDS
from .browser import browser, live_site, log_in, log_out, shot  # noqa: F401  (fixtures)

AST_LOINC = "1920-8"


def bundle_without_ast(tmp_path: Path) -> Path:
    """The 'old seizure' example (a review item) with its AST result removed (a missing lab)."""
    bundle = json.loads((EXAMPLES / "sle-old-seizure.json").read_text())
    kept = [e for e in bundle["entry"]
            if not any(c.get("code") == AST_LOINC for c in e["resource"].get("code", {}).get("coding", []))]
    assert len(kept) == len(bundle["entry"]) - 1
    bundle["entry"] = kept
    path = tmp_path / "candidate.json"
    path.write_text(json.dumps(bundle))
    return path


def criterion_row(page, criterion: str):
    return page.locator("tr", has=page.locator(f"text={criterion}")).first


def enter_lab(page, url: str, measure: str, value: str, unit: str, when: str, uln: str = "") -> None:
    """Fill the workspace's lab form and wait for the re-screened page."""
    lab = page.locator("#form-lab")
    lab.get_by_label("Lab").select_option(measure)
    lab.get_by_label("Value").fill(value)
    lab.get_by_label("Unit").fill(unit)
    lab.get_by_label("Date").fill(when)
    lab.get_by_label("Upper reference limit").fill(uln)
    lab.get_by_role("button", name="Add result and screen").click()
    page.wait_for_url(url)


def test_screen_fix_review_sign_invalidate_enroll_and_audit(browser, live_site, database_url, tmp_path):
    base, _ = live_site
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()

    # the coordinator creates a candidate and imports the bundle
    log_in(page, base, "coordinator")
    new = page.locator("form[action='/candidates']")
    new.get_by_label("Cohort").select_option("SLE")
    new.get_by_label("Screening date").fill("2026-03-02")
    new.get_by_role("button", name="Create").click()
    page.wait_for_url(f"{base}/candidates/S-*")
    url = page.url
    number = url.rsplit("/", 1)[1]
    page.get_by_label("FHIR R4 bundle").set_input_files(str(bundle_without_ast(tmp_path)))
    page.get_by_role("button", name="Import and screen").click()
    page.wait_for_url(url)
    liver = criterion_row(page, "INC-LIVER")
    assert "unknown" in liver.inner_text()
    assert "review" in criterion_row(page, "EXC-CNS").inner_text()
    assert "AST" in page.locator("section.missing").inner_text()
    shot(page, "checklist-missing-ast", database_url)

    # ... and enters the missing AST by form
    enter_lab(page, url, "ast", "28", "U/L", "2026-02-25", uln="40")
    assert "pass" in criterion_row(page, "INC-LIVER").inner_text()
    assert "needs_review" in page.locator("main").inner_text()
    shot(page, "checklist", database_url)
    log_out(page)

    # the investigator decides the review item and signs
    log_in(page, base, "investigator")
    page.goto(f"{url}/review")
    decide = page.locator("form[action$='/decisions']", has=page.locator("input[value='EXC-CNS']"))
    decide.get_by_label("does not stand in the way (pass)").check()
    decide.get_by_label("Reason").fill("single seizure in 2019, none since")
    decide.get_by_role("button", name="Decide").click()
    page.wait_for_url(f"{url}/review")
    sign = page.locator("form[action$='/sign']")
    assert "I confirm eligibility for cohort SLE" in page.locator("main").inner_text()
    sign.get_by_label("Password").fill(PASSWORDS["investigator"])
    sign.get_by_role("button", name="Sign").click()
    page.wait_for_url(f"{url}/review")
    assert "Valid" in page.locator("main").inner_text()
    log_out(page)

    # the coordinator changes the data after the signature: the signature is invalidated
    log_in(page, base, "coordinator")
    page.goto(url)
    enter_lab(page, url, "weight", "51", "kg", "2026-03-01")
    text = page.locator("main").inner_text()
    assert "Invalidated" in text and "the data changed" in text
    log_out(page)

    # the investigator signs again and enrolls
    log_in(page, base, "investigator")
    page.goto(f"{url}/review")
    sign = page.locator("form[action$='/sign']")
    sign.get_by_label("Password").fill(PASSWORDS["investigator"])
    sign.get_by_role("button", name="Sign").click()
    page.wait_for_url(f"{url}/review")
    enroll = page.locator("form[action$='/enroll']")
    enroll.get_by_label("Subject id").fill("CARNK-SLE-001")
    enroll.get_by_role("button", name="Enroll").click()
    page.goto(f"{base}/candidates")
    row = page.locator("tr", has=page.locator(f"a:text-is('{number}')"))
    assert "enrolled" in row.inner_text() and "CARNK-SLE-001" in row.inner_text()
    shot(page, "screening-log", database_url)
    log_out(page)

    # the monitor finds all of it in the audit trail
    log_in(page, base, "monitor")
    page.goto(f"{base}/audit")
    page.get_by_label("Screening no. or user").fill(number)
    page.get_by_role("button", name="Filter").click()
    trail = page.locator("main").inner_text()
    for action in ("create", "import", "enter", "decide", "sign", "invalidate", "enroll"):
        assert action in trail, action
    assert "Hash chain verified" in trail
    shot(page, "audit-trail", database_url)
    context.close()
