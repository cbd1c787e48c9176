"""Helpers for the application tests: a settable clock, a site with one user per role, the examples."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fastapi.testclient import TestClient

from trialdesk.app.main import create_app
from trialdesk.app.settings import Settings
from trialdesk.app.users import create_user
from trialdesk.patient.fhir.builder import PatientBuilder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "test-secret-key-" + "x" * 32
ROLES = ("coordinator", "investigator", "monitor", "admin")
PASSWORDS = {role: f"{role}-password-1" for role in ROLES}
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
AS_OF = "2026-03-02"


@dataclass
class Clock:
    """A settable clock for idle timeouts and dates."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def settings_for(database_url: str, **overrides) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET, argon2_time_cost=1, argon2_memory_kib=32,
                    **overrides)


@dataclass
class Site:
    """A running application with one user per role; ``client(role)`` is logged in as that role."""

    app: object
    clock: Clock
    clients: dict[str, TestClient] = field(default_factory=dict)

    @property
    def rt(self):
        return self.app.state.runtime

    def anonymous(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def client(self, role: str) -> TestClient:
        if role not in self.clients:
            c = TestClient(self.app, follow_redirects=False)
            r = c.post("/api/auth/login", json={"username": role, "password": PASSWORDS[role]})
            assert r.status_code == 200, r.text
            c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            self.clients[role] = c
        return self.clients[role]

    def db(self):
        return self.rt.sessions()

    def dispose(self) -> None:
        for c in self.clients.values():
            c.close()
        self.app.state.db_engine.dispose()


def make_site(database_url: str, **overrides) -> Site:
    clock = Clock()
    app = create_app(settings_for(database_url, **overrides), clock=clock)
    site = Site(app, clock)
    with site.db() as db:
        for role, password in PASSWORDS.items():
            create_user(db, site.rt.passwords, None, clock(), role, f"Test {role.title()}", role, password)
    return site


def example(name: str) -> bytes:
    return (EXAMPLES / f"{name}.json").read_bytes()


def bundle_bytes(patient: PatientBuilder) -> bytes:
    return json.dumps(patient.bundle()).encode()


def new_candidate(site: Site, cohort: str | None = "SLE", **dates) -> str:
    r = site.client("coordinator").post("/api/candidates", json={"cohort": cohort, "as_of": AS_OF, **dates})
    assert r.status_code == 201, r.text
    return r.json()["number"]


def post_bundle(site: Site, number: str, content: bytes, role: str = "coordinator"):
    return site.client(role).post(f"/api/candidates/{number}/screenings", content=content,
                                  headers={"Content-Type": "application/fhir+json"})
