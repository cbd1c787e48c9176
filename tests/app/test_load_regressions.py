"""Regression tests for the defects scripts/bench-load found (SQLite and PostgreSQL):

- concurrent "new candidate" requests got 409 "could not allocate a screening number";
- the authorization dependency (and the import route's candidate look-up) ran blocking database
  calls on the event loop: under load, with every pooled connection held by worker threads that
  waited for the loop, the whole server stalled until the pool timed out;
- the screening log ran five queries per candidate and loaded every stored bundle.
"""

from __future__ import annotations

import asyncio
import os
import threading

from sqlalchemy import event

from .app_helpers import example, new_candidate, post_bundle
from trialdesk.app import deps, workspace


def test_concurrent_creations_all_get_a_number(site):
    client = site.client("coordinator")
    results: list = []

    def create() -> None:
        results.append(client.post("/api/candidates", json={"cohort": "SLE", "as_of": "2026-03-02"}))

    threads = [threading.Thread(target=create) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 16, [r.text for r in results if r.status_code != 201]
    numbers = {r.json()["number"] for r in results}
    assert len(numbers) == 16 and all(n.startswith("S-") for n in numbers)
    listed = site.client("monitor").get("/api/candidates").json()["candidates"]
    assert {c["number"] for c in listed} == numbers


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def test_database_calls_of_async_dependencies_and_routes_run_off_the_event_loop(site, monkeypatch):
    calls: list[tuple[str, bool]] = []
    real_auth, real_lookup = deps.current_auth, workspace.candidate_by_number

    def auth(*args, **kwargs):
        calls.append(("current_auth", _on_event_loop()))
        return real_auth(*args, **kwargs)

    def lookup(*args, **kwargs):
        calls.append(("candidate_by_number", _on_event_loop()))
        return real_lookup(*args, **kwargs)

    number = new_candidate(site)
    monkeypatch.setattr(deps, "current_auth", auth)
    monkeypatch.setattr(workspace, "candidate_by_number", lookup)
    assert post_bundle(site, number, example("sle-eligible")).status_code == 200
    assert site.client("coordinator").get("/api/candidates").status_code == 200
    assert {name for name, _ in calls} == {"current_auth", "candidate_by_number"}
    assert not [name for name, on_loop in calls if on_loop], calls


def test_the_screening_log_needs_the_same_queries_for_any_number_of_candidates(site):
    engine = site.app.state.db_engine
    monitor = site.client("monitor")  # logged in before counting
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    def log_queries() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            r = monitor.get("/api/candidates")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert r.status_code == 200
        assert not [s for s in statements if "data_versions.content" in s], "the log loaded stored bundles"
        return len(statements)

    for _ in range(2):
        post_bundle(site, new_candidate(site), example("sle-eligible"))
    few = log_queries()
    for _ in range(4):
        post_bundle(site, new_candidate(site), example("srns-eligible"))
    assert log_queries() == few


def test_serve_with_workers_hands_uvicorn_the_app_factory(monkeypatch, tmp_path):
    import typer
    import uvicorn
    from typer.testing import CliRunner

    from .app_helpers import SECRET
    from trialdesk.cli import app_commands

    calls: list = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw, dict(os.environ))))
    monkeypatch.setenv("TRIALDESK_SECRET_KEY", SECRET)
    for name in ("TRIALDESK_DATABASE_URL", "TRIALDESK_RUN_MIGRATIONS"):  # serve sets them: undone after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    cli = typer.Typer()
    app_commands.register(cli)
    db = tmp_path / "w.db"
    result = CliRunner().invoke(cli, ["serve", "--database-url", str(db), "--workers", "2"])
    assert result.exit_code == 0, result.output
    [(app, kw, env)] = calls
    assert app == "trialdesk.app.main:create_app" and kw["factory"] and kw["workers"] == 2
    assert env["TRIALDESK_DATABASE_URL"] == f"sqlite:///{db}" and env["TRIALDESK_RUN_MIGRATIONS"] == "false"
    assert db.exists()  # migrated once, by the parent
    refused = CliRunner().invoke(cli, ["serve", "--demo", "--workers", "2"])
    assert refused.exit_code == 2 and "one worker" in refused.output


def test_a_screening_in_progress_does_not_hold_up_other_writers(site, database_url, monkeypatch):
    """The audit head's lock is taken at commit, not before the engine runs (PostgreSQL; SQLite
    has one writer at a time by design)."""
    import pytest

    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises all writers")
    number = new_candidate(site)
    post_bundle(site, number, example("sle-eligible"))
    entered, release = threading.Event(), threading.Event()
    real = workspace.evaluate

    def slow_evaluate(*args, **kwargs):
        entered.set()
        release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(workspace, "evaluate", slow_evaluate)
    investigator = site.client("investigator")
    screening: list = []
    t = threading.Thread(target=lambda: screening.append(post_bundle(site, number, example("sle-eligible"))))
    t.start()
    try:
        assert entered.wait(20)
        created: list = []
        other = threading.Thread(target=lambda: created.append(
            investigator.post("/api/candidates", json={"cohort": "SRNS", "as_of": "2026-03-02"})))
        other.start()
        other.join(10)
        assert created and created[0].status_code == 201, "a create waited for another candidate's screening"
    finally:
        release.set()
        t.join()
    assert screening[0].status_code == 200
    engine = site.app.state.db_engine
    from trialdesk.app.audit import verify
    from trialdesk.app.db import session_factory

    with session_factory(engine)() as db:
        assert verify(db).ok


def test_reads_within_a_minute_write_nothing_to_the_session(site):
    """Every request used to update its session's last_seen_at (a write and a commit per read)."""
    client = site.client("monitor")
    engine = site.app.state.db_engine
    writes: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        site.clock.advance(seconds=30)
        assert client.get("/api/candidates").status_code == 200
        assert writes == []
        site.clock.advance(seconds=31)
        assert client.get("/api/candidates").status_code == 200
        assert len(writes) == 1 and "sessions" in writes[0]
    finally:
        event.remove(engine, "before_cursor_execute", count)
