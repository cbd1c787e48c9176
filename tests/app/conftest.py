"""Fixtures for the site application: every test that takes ``site`` or ``database_url`` runs on
SQLite and on PostgreSQL.

PostgreSQL: one throwaway database ``trialdesk_test_<random>`` per test run on the local server
(127.0.0.1:5432, or $TRIALDESK_TEST_POSTGRES as a server URL), dropped at the end; each test
starts from empty tables. Without a server the PostgreSQL cases are skipped.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from typing import Iterator

import pytest
import typer
from sqlalchemy import text

from .app_helpers import SECRET, Site, make_site
from trialdesk.app.db import make_engine
from trialdesk.app.settings import database_url as normalise_url
from trialdesk.cli import app_commands

SERVER = os.environ.get("TRIALDESK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _server_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=3):
            return True
    except Exception:
        return False


@contextmanager
def throwaway_postgres(prefix: str = "trialdesk_test") -> Iterator[str]:
    """A new PostgreSQL database ``<prefix>_<random>`` on the test server, dropped afterwards."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this run (skips if no server answers)."""
    if not _server_answers():
        pytest.skip(f"no PostgreSQL server answers at {SERVER}")
    with throwaway_postgres() as url:
        yield url


def _empty_postgres(url: str) -> None:
    """Empty every table of the test database (TRUNCATE fires no row triggers)."""
    engine = make_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            if "audit_records" in tables:  # a tampering test may have disabled the append-only trigger
                conn.execute(text("ALTER TABLE audit_records ENABLE TRIGGER ALL"))
            if "audit_head" in tables:
                conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """An empty database: a new SQLite file, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trialdesk.db'}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def cli() -> typer.Typer:
    """The ``trialdesk`` commands of the site application (serve, audit, users, backup, ...)."""
    app = typer.Typer()
    app_commands.register(app)
    return app


@pytest.fixture
def site(database_url) -> Iterator[Site]:
    s = make_site(database_url)
    yield s
    s.dispose()


__all__ = ["SECRET"]
