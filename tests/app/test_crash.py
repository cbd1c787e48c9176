"""Crash safety: ``trialdesk serve`` is SIGKILLed in the middle of a burst of writes and restarted.

Every write the server acknowledged (a 2xx answer) must be there after the restart, nothing
may be half-written (each data version has its screening and audit record, each decision and
signature its audit record) and ``trialdesk audit verify`` must pass; on SQLite (WAL) and on
PostgreSQL. Writes that were in flight when the server died may or may not be there: the
client never heard back, but they must be whole if they are.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select

from .app_helpers import PASSWORDS, SECRET, example, settings_for
from trialdesk.app.db import make_engine, session_factory, upgrade
from trialdesk.app.models import AuditRecord, Candidate, DataVersion, ReviewDecision, Screening, Signature
from trialdesk.app.security import Passwords
from trialdesk.app.users import create_user

TRIALDESK = Path(sys.executable).with_name("trialdesk")
BUNDLES = {"eligible": example("sle-eligible"), "review": example("sle-old-seizure")}
WRITERS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "TRIALDESK_SECRET_KEY": SECRET, "TRIALDESK_DATABASE_URL": url,
            "TRIALDESK_ARGON2_TIME_COST": "1", "TRIALDESK_ARGON2_MEMORY_KIB": "32"}


class Server:
    """``trialdesk serve`` as a child process."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.port, self.log = url, _free_port(), log
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([str(TRIALDESK), "serve", "--port", str(self.port)], env=_env(self.url),
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx2.get(f"{self.base}/login", timeout=1).status_code == 200:
                    return
            except httpx2.TransportError:
                time.sleep(0.1)
        pytest.fail("the server did not answer within 60 s")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def client(self, role: str) -> httpx2.Client:
        c = httpx2.Client(base_url=self.base, timeout=30)
        r = c.post("/api/auth/login", json={"username": role, "password": PASSWORDS[role]})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c


class Acknowledged:
    """What the server answered 2xx to, per candidate."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.candidates: set[str] = set()
        self.imports: dict[str, int] = defaultdict(int)
        self.decisions: set[str] = set()
        self.signatures: set[int] = set()
        self.total = 0
        self.unanswered = 0  # writes sent when the server died
        self.errors: list[str] = []  # answers other than the expected 2xx

    def add(self, kind: str, number: str, value: object = None) -> None:
        with self.lock:
            self.total += 1
            if kind == "create":
                self.candidates.add(number)
            elif kind == "import":
                self.imports[number] += 1
            elif kind == "decide":
                self.decisions.add(number)
            else:
                self.signatures.add(value)  # type: ignore[arg-type]


class Unexpected(Exception):
    pass


def _expect(r: httpx2.Response, status: int) -> httpx2.Response:
    if r.status_code != status:
        raise Unexpected(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}")
    return r


def _writer(server: Server, ack: Acknowledged, stop: threading.Event, index: int) -> None:
    """Create a candidate, import twice, decide the review item, sign; again, until the server dies."""
    try:
        co, inv = server.client("coordinator"), server.client("investigator")
        kinds = ("review", "eligible") if index % 2 else ("eligible", "review")
        while not stop.is_set():
            number = _expect(co.post("/api/candidates", json={"cohort": "SLE", "as_of": "2026-03-02"}),
                             201).json()["number"]
            ack.add("create", number)
            for kind in kinds:
                _expect(co.post(f"/api/candidates/{number}/screenings", content=BUNDLES[kind],
                                headers={"Content-Type": "application/fhir+json"}), 200)
                ack.add("import", number)
            if kinds[-1] == "review":
                _expect(inv.post(f"/api/candidates/{number}/decisions", json={
                    "criterion_id": "EXC-CNS", "decision": "pass", "reason": "febrile seizure at 3"}), 200)
                ack.add("decide", number)
            r = _expect(inv.post(f"/api/candidates/{number}/signatures",
                                 json={"password": PASSWORDS["investigator"]}), 201)
            ack.add("sign", number, r.json()["id"])
    except httpx2.TransportError:
        with ack.lock:  # the server died under us, with this write in flight
            ack.unanswered += 1
    except (Unexpected, AssertionError) as exc:
        with ack.lock:
            ack.errors.append(str(exc))


def _prepare(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        settings = settings_for(url)
        with session_factory(engine)() as db:
            for role in ("coordinator", "investigator"):
                create_user(db, Passwords(settings), None, datetime.now(timezone.utc), role, role.title(), role,
                            PASSWORDS[role])
    finally:
        engine.dispose()


def _check_stored(url: str, ack: Acknowledged) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as db:
            candidates = {c.number: c for c in db.execute(select(Candidate)).scalars()}
            assert ack.candidates <= set(candidates), ack.candidates - set(candidates)
            for number, n in ack.imports.items():
                versions = db.execute(select(func.count()).select_from(DataVersion)
                                      .where(DataVersion.candidate_id == candidates[number].id)).scalar_one()
                assert versions >= n, (number, versions, n)
            decided = set(db.execute(select(Candidate.number).join(ReviewDecision,
                                                                   ReviewDecision.candidate_id == Candidate.id)).scalars())
            assert ack.decisions <= decided
            signatures = set(db.execute(select(Signature.id)).scalars())
            assert ack.signatures <= signatures
            # nothing half-written: every data version was screened and audited, every decision and
            # signature audited, and each candidate's row_version counts its changes
            dvs = db.execute(select(DataVersion)).scalars().all()
            screened = set(db.execute(select(Screening.data_version_id)).scalars())
            assert {dv.id for dv in dvs} <= screened
            audit = defaultdict(int)
            for action, key in db.execute(select(AuditRecord.action, AuditRecord.entity_key)):
                audit[action, key] += 1
            for number, c in candidates.items():
                n_data = sum(1 for dv in dvs if dv.candidate_id == c.id)
                n_decisions = db.execute(select(func.count()).select_from(ReviewDecision)
                                         .where(ReviewDecision.candidate_id == c.id)).scalar_one()
                n_signatures = db.execute(select(func.count()).select_from(Signature)
                                          .where(Signature.candidate_id == c.id)).scalar_one()
                assert audit["create", number] == 1
                assert audit["import", number] == n_data and audit["screen", number] == n_data
                assert audit["decide", number] == n_decisions and audit["sign", number] == n_signatures
                assert c.row_version == 1 + n_data + n_decisions + n_signatures
            return {"candidates": len(candidates), "data_versions": len(dvs), "signatures": len(signatures)}
    finally:
        engine.dispose()


def test_a_killed_server_loses_no_acknowledged_write_and_leaves_nothing_half_written(database_url, tmp_path):
    _prepare(database_url)
    server = Server(database_url, tmp_path / "server.log")
    server.start()
    ack, stop = Acknowledged(), threading.Event()
    threads = [threading.Thread(target=_writer, args=(server, ack, stop, i)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while ack.total < 40 and time.monotonic() < deadline:  # mid-burst: well after the first writes
        time.sleep(0.02)
    server.kill()
    stop.set()
    for t in threads:
        t.join(30)
    assert not ack.errors, ack.errors
    assert ack.total >= 40 and ack.signatures, f"too few writes before the kill: {ack.total}"
    assert ack.unanswered >= 1, "the kill came between writes, not during one"

    server.start()  # a restart runs the migrations and opens the database again
    try:
        counts = _check_stored(database_url, ack)
        r = server.client("coordinator").get("/api/candidates")
        assert r.status_code == 200 and {c["number"] for c in r.json()["candidates"]} >= ack.candidates
    finally:
        server.kill()
    verify = subprocess.run([str(TRIALDESK), "audit", "verify"], env=_env(database_url), capture_output=True,
                            text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "audit trail OK" in verify.stdout
    assert counts["data_versions"] >= sum(ack.imports.values())
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
