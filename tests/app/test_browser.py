"""End to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The application runs in a real HTTP server (uvicorn in a thread) on SQLite and on PostgreSQL.
A coordinator logs in, creates a candidate, imports a FHIR bundle that lacks the AST result and
has an old seizure, enters the missing AST by form; the investigator decides the review item,
signs and, after a data change invalidated that signature, signs again and enrolls; the monitor
finds all of it in the audit trail. Screenshots go to ``artifacts/e2e/`` (kept by CI as artefacts).

Without ``/usr/bin/chromium`` the tests are skipped, unless ``TRIALDESK_REQUIRE_BROWSER=1``
(set by ``.ci/run``), which turns the missing browser into a failure.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import uvicorn

from .app_helpers import PASSWORDS, EXAMPLES, make_site

CHROMIUM = Path(os.environ.get("TRIALDESK_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
AST_LOINC = "1920-8"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("TRIALDESK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium package")
        pytest.skip(f"no browser at {CHROMIUM} (Debian package chromium; scripts/setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                    "--disable-background-networking"])
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(database_url) -> Iterator[str]:
    """The application behind a real HTTP server; yields its base URL."""
    site = make_site(database_url)
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        site.dispose()


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


def log_in(page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(role)
    page.get_by_label("Password").fill(PASSWORDS[role])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/candidates")


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()


def criterion_row(page, criterion: str):
    return page.locator("tr", has=page.locator(f"text={criterion}")).first


def shot(page, name: str, database_url: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    backend = database_url.split(":", 1)[0]
    page.screenshot(path=str(ARTIFACTS / f"{backend}-{name}.png"), full_page=True)


def test_screen_fix_review_sign_invalidate_enroll_and_audit(browser, live, database_url, tmp_path):
    base = live
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
    lab = page.locator("#form-lab")
    lab.get_by_label("Lab").select_option("ast")
    lab.get_by_label("Value").fill("28")
    lab.get_by_label("Unit").fill("U/L")
    lab.get_by_label("Date").fill("2026-02-25")
    lab.get_by_label("Upper reference limit").fill("40")
    lab.get_by_role("button", name="Add result and screen").click()
    page.wait_for_url(url)
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
    lab = page.locator("#form-lab")
    lab.get_by_label("Lab").select_option("weight")
    lab.get_by_label("Value").fill("51")
    lab.get_by_label("Unit").fill("kg")
    lab.get_by_label("Date").fill("2026-03-01")
    lab.get_by_role("button", name="Add result and screen").click()
    page.wait_for_url(url)
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
