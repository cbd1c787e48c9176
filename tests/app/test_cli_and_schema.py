"""``trialdesk serve`` / ``users add`` and the migrations (schema equals the models, both backends)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from typer.testing import CliRunner

from trialdesk.app.db import current_revision, head_revision, make_engine, upgrade
from trialdesk.app.demo import DEMO_USERS, EXAMPLES
from trialdesk.app.models import Base
from trialdesk.app.settings import database_url as normalise


@pytest.fixture
def served(monkeypatch) -> list:
    """Capture the app that ``serve`` would hand to uvicorn instead of listening."""
    apps: list = []
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: apps.append((app, kw)))
    return apps


def test_serve_refuses_to_start_without_a_secret_key(cli, served, monkeypatch, tmp_path):
    monkeypatch.delenv("TRIALDESK_SECRET_KEY", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--database-url", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "TRIALDESK_SECRET_KEY is not set" in result.output
    assert served == []


def test_serve_demo_loads_examples_and_prints_the_logins(cli, served, monkeypatch, tmp_path):
    monkeypatch.delenv("TRIALDESK_SECRET_KEY", raising=False)
    monkeypatch.delenv("TRIALDESK_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--demo", "--port", "8123", "--database-url", str(tmp_path / "d.db")])
    assert result.exit_code == 0, result.output
    assert "http://localhost:8123/" in result.output
    for name, _display, _role, password in DEMO_USERS:
        assert f"{name} / {password}" in result.output
    [(app, kwargs)] = served
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 8123
    client = TestClient(app)
    r = client.post("/api/auth/login", json={"username": "monitor", "password": "monitor-demo"})
    assert r.status_code == 200
    log = client.get("/api/candidates").json()
    assert len(log["candidates"]) == len(list(EXAMPLES.glob("*.json")))
    statuses = {c["status"] for c in log["candidates"]}
    assert {"screening", "ineligible"} <= statuses
    app.state.db_engine.dispose()


def test_users_add(cli, monkeypatch, tmp_path):
    url = str(tmp_path / "site.db")
    monkeypatch.setenv("TRIALDESK_NEW_PASSWORD", "first-admin-password")
    result = CliRunner().invoke(cli, ["users", "add", "site.admin", "--role", "admin", "--database-url", url])
    assert result.exit_code == 0 and "added site.admin (admin)" in result.output
    again = CliRunner().invoke(cli, ["users", "add", "site.admin", "--role", "admin", "--database-url", url])
    assert again.exit_code == 2 and "exists" in again.output
    bad = CliRunner().invoke(cli, ["users", "add", "x2", "--role", "root", "--database-url", url])
    assert bad.exit_code == 2 and "role must be one of" in bad.output


VERSIONS = Path(__file__).parents[2] / "src/trialdesk/app/migrations/versions"


def test_migrations_create_the_models_schema(database_url):
    engine = make_engine(normalise(database_url))
    try:
        upgrade(engine)
        newest = max(f.name.split("_")[0] for f in VERSIONS.glob("0*.py"))
        assert current_revision(engine) == head_revision() == newest
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        upgrade(engine)  # idempotent at head
        tables = set(inspect(engine).get_table_names())
        assert {"users", "candidates", "screenings", "signatures", "audit_records", "audit_head"} <= tables
    finally:
        engine.dispose()


def test_openapi_describes_every_api_route(site):
    from trialdesk.app.main import routes

    spec = site.anonymous().get("/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    api = {(m, p) for m, p, _ in routes() if p.startswith("/api") and m != "HEAD"}
    assert api == documented
    body = spec["paths"]["/api/candidates/{number}/screenings"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/fhir+json", "application/json"}
