"""Engines, sessions and migrations.

The schema is Alembic's: :func:`upgrade` runs the migrations shipped in this package
programmatically (at start-up and by ``trialdesk serve``), so no ``alembic.ini`` is needed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

__all__ = ["MIGRATIONS", "alembic_config", "current_revision", "head_revision", "make_engine", "session_factory",
           "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on, a busy timeout and write-ahead logging.

    WAL (https://sqlite.org/wal.html) lets readers go on while one writer writes, and a
    killed process loses no committed transaction; ``synchronous`` stays FULL, so a commit
    is on disk before it is acknowledged.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        return engine
    # up to one connection per worker thread (anyio's default limit is 40), so no request waits for a
    # connection that another holds while it waits for the CPU (scripts/bench-load)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema to ``revision`` (default: the newest)."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
