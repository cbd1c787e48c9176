"""Browser test fixtures: Debian's Chromium driven by Playwright, and the application behind a
real HTTP server (uvicorn in a thread) on the test's database.

Without ``/usr/bin/chromium`` the browser tests are skipped, unless ``TRIALDESK_REQUIRE_BROWSER=1``
(set by ``.ci/run``), which turns the missing browser into a failure. Screenshots go to
``artifacts/e2e/`` (kept by CI as artefacts).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import uvicorn

from .app_helpers import PASSWORDS, Site, make_site

CHROMIUM = Path(os.environ.get("TRIALDESK_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"


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
def live_site(database_url) -> Iterator[tuple[str, Site]]:
    """The application behind a real HTTP server: its base URL, and the site (to move its clock)."""
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
        yield f"http://127.0.0.1:{port}", site
    finally:
        server.should_exit = True
        thread.join(10)
        site.dispose()


def log_in(page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(role)
    page.get_by_label("Password").fill(PASSWORDS[role])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/candidates")


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()


def shot(page, name: str, database_url: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    backend = database_url.split(":", 1)[0]
    page.screenshot(path=str(ARTIFACTS / f"{backend}-{name}.png"), full_page=True)
