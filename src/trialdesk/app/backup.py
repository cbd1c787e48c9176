"""Backups and restores of the application's database (``trialdesk backup`` / ``trialdesk restore``).

A backup is a POSIX tar archive (readable with ``tar xf``) holding two members:

``manifest.json``
    ``{"format": "trialdesk-backup", "format_version": 1, "dialect", "payload", "payload_bytes",
    "payload_sha256", "schema_revision", "tables": {table: rows}, "audit": {"ok", "records",
    "head_hash", "problem"}, "created_at", "trialdesk_version"}``, all taken from the same
    consistent snapshot as the payload.
``database.sqlite``
    SQLite: a copy made with SQLite's online backup API (one step, so one consistent snapshot
    while the application keeps running; in rollback-journal mode writers wait for it), in
    ``journal_mode=DELETE`` so the file stands alone.
``database.pgdump``
    PostgreSQL: ``pg_dump --format=custom`` (see the PostgreSQL manual, "pg_dump"), taken with
    ``--snapshot`` in the REPEATABLE READ transaction that counted the rows and verified the
    audit chain. ``pg_dump``/``pg_restore`` must be on ``PATH`` and not older than the server.

A restore reads the whole archive and checks the payload's size and sha256 before it touches the
target, refuses a target that holds data unless ``force``, refuses a backup of the other
database kind or of an unknown schema revision, and copies in one transaction (SQLite's backup
API into the target; ``pg_restore --single-transaction --exit-on-error --clean --if-exists``),
so a failed restore changes nothing. Afterwards the target's row counts must equal the
manifest's and the audit chain must verify (:func:`trialdesk.app.audit.verify`) to the same head.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from trialdesk.app import audit
from trialdesk.app.db import alembic_config, make_engine
from trialdesk.errors import TrialdeskError

__all__ = ["BackupError", "Restored", "backup", "restore"]

FORMAT, FORMAT_VERSION, MANIFEST = "trialdesk-backup", 1, "manifest.json"
PAYLOADS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
NOT_DATA = ("alembic_version", "audit_head")  # present in an empty, migrated database


class BackupError(TrialdeskError):
    """A backup cannot be made or restored; the message says which file or database, and why."""


@dataclass(frozen=True)
class Restored:
    """What a restore put into the target, and the audit chain's verification there."""

    manifest: dict[str, Any]
    tables: dict[str, int]
    verification: audit.Verification

    @property
    def ok(self) -> bool:
        return (self.verification.ok and self.tables == self.manifest["tables"]
                and self.verification.head_hash == self.manifest["audit"]["head_hash"])


def _dialect(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in PAYLOADS:
        raise BackupError(f"backups are made of SQLite or PostgreSQL databases, not {name!r}")
    return name


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url}: not a SQLite database file")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it (never on a command line)."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    bare = URL.create("postgresql", username=u.username, host=u.host, port=u.port, database=u.database, query=u.query)
    return bare.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not on PATH: PostgreSQL backups need the PostgreSQL client programs "
                          "(Debian: apt-get install postgresql-client) of the server's major version or newer")
    return path


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def _counts(conn: Connection) -> dict[str, int]:
    names = sorted(n for n in inspect(conn).get_table_names() if not n.startswith("sqlite_"))
    return {n: conn.execute(select(func.count()).select_from(table(n))).scalar_one() for n in names}


def _revision(conn: Connection) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def _describe(conn: Connection) -> dict[str, Any]:
    """Row counts, schema revision and the audit chain's verification, read in ``conn``'s transaction."""
    tables = _counts(conn)
    if "audit_records" not in tables:
        raise BackupError("the database holds no trialdesk schema (no audit_records table)")
    with Session(bind=conn) as db:
        v = audit.verify(db)
    return {"schema_revision": _revision(conn), "tables": tables,
            "audit": {"ok": v.ok, "records": v.checked, "head_hash": v.head_hash,
                      "problem": None if v.broken is None else f"record {v.broken.seq}: {v.broken.problem}"}}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _dump_sqlite(url: str, payload: Path) -> dict[str, Any]:
    source = _sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"{source}: no such SQLite database")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(payload)
    try:
        src.backup(dst)  # all pages in one step: one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupError(f"{source}: SQLite backup failed: {exc}") from None
    finally:
        dst.close()
        src.close()
    engine = make_engine(f"sqlite:///{payload}")
    try:
        with engine.connect() as conn:
            return _describe(conn)
    finally:
        engine.dispose()


def _dump_postgresql(url: str, payload: Path) -> dict[str, Any]:
    pg_dump = _tool("pg_dump")
    uri, env = _libpq(url)
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            described = _describe(conn)
            _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={payload}", f"--dbname={uri}"], env, "pg_dump")
        return described
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the database: {exc.__class__.__name__}: {exc.orig or exc}") from None
    finally:
        engine.dispose()


def backup(url: str, out: Path, now: datetime | None = None) -> dict[str, Any]:
    """Write a backup of the database at ``url`` to ``out`` (a new file); returns its manifest.

    The archive is written to a temporary file next to ``out`` and renamed when complete, so
    ``out`` is either absent or whole.

    Raises:
        BackupError: ``out`` exists, the database cannot be read, or ``pg_dump`` failed.
    """
    dialect = _dialect(url)
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out}: exists; a backup never overwrites a file")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent}: no such folder")
    work = Path(tempfile.mkdtemp(prefix=".trialdesk-backup-", dir=out.parent))
    try:
        payload = work / PAYLOADS[dialect]
        described = (_dump_sqlite if dialect == "sqlite" else _dump_postgresql)(url, payload)
        from trialdesk.app.workspace import ENGINE_VERSION

        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "dialect": dialect,
                    "payload": payload.name, "payload_bytes": payload.stat().st_size,
                    "payload_sha256": _sha256(payload), **described,
                    "created_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
                    "trialdesk_version": ENGINE_VERSION}
        partial = work / "backup.tar"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(datetime.now().timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(payload, arcname=payload.name)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        os.chmod(partial, 0o600)  # patient data
        os.replace(partial, out)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _unpacked(path: Path) -> Iterator[tuple[dict[str, Any], Path]]:
    """The manifest and the payload (in a temporary folder), after checking size and sha256."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    work = Path(tempfile.mkdtemp(prefix=".trialdesk-restore-"))
    try:
        try:
            with tarfile.open(path, "r:") as tar:
                member = tar.next()
                if member is None or member.name != MANIFEST or not member.isfile():
                    raise BackupError(f"{path}: not a trialdesk backup (its first member is not {MANIFEST})")
                manifest = json.loads(tar.extractfile(member).read())  # type: ignore[union-attr]
                if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
                    raise BackupError(f"{path}: not a trialdesk backup of format version {FORMAT_VERSION}")
                if manifest.get("dialect") not in PAYLOADS or manifest.get("payload") != PAYLOADS[manifest["dialect"]]:
                    raise BackupError(f"{path}: the manifest names no known payload")
                member = tar.next()
                if member is None or member.name != manifest["payload"] or not member.isfile():
                    raise BackupError(f"{path}: the payload {manifest['payload']} is missing: "
                                      "the file is truncated")
                payload, h, size = work / manifest["payload"], hashlib.sha256(), 0
                with tar.extractfile(member) as src, payload.open("wb") as dst:  # type: ignore[union-attr]
                    for block in iter(lambda: src.read(1 << 20), b""):
                        h.update(block)
                        size += len(block)
                        dst.write(block)
        except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupError(f"{path}: unreadable or truncated backup ({exc.__class__.__name__}: {exc})") from None
        if size != manifest["payload_bytes"]:
            raise BackupError(f"{path}: truncated: the payload has {size} bytes, the manifest says "
                              f"{manifest['payload_bytes']}")
        if h.hexdigest() != manifest["payload_sha256"]:
            raise BackupError(f"{path}: corrupt: the payload's sha256 differs from the manifest's")
        yield manifest, payload
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _known_revision(revision: str | None) -> None:
    try:
        if revision is None or ScriptDirectory.from_config(alembic_config()).get_revision(revision) is None:
            raise CommandError("none")
    except CommandError:
        raise BackupError(f"the backup's schema revision {revision!r} is unknown to this trialdesk "
                          "(made by a newer version?)") from None


def _holds_data(url: str) -> str | None:
    """What the target holds (a short description), or None when it is empty or has no tables."""
    if make_url(url).get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            counts = _counts(conn)
            head = (conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one_or_none()
                    if "audit_head" in counts else None)
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot open the target database: {exc.__class__.__name__}: {exc.orig or exc}") from None
    finally:
        engine.dispose()
    rows = {n: c for n, c in counts.items() if c and n not in NOT_DATA}
    if rows or (head or 0) > 0:
        return ", ".join(f"{n} {c}" for n, c in rows.items()) or f"audit_head at {head}"
    return None


def _restore_sqlite(payload: Path, manifest: dict[str, Any], url: str) -> None:
    check = sqlite3.connect(f"file:{payload}?mode=ro", uri=True)
    try:
        problems = [r[0] for r in check.execute("PRAGMA integrity_check")]
    except sqlite3.Error as exc:
        raise BackupError(f"the backup's database is damaged: {exc}") from None
    finally:
        check.close()
    if problems != ["ok"]:
        raise BackupError(f"the backup's database is damaged: {'; '.join(problems[:5])}")
    engine = make_engine(f"sqlite:///{payload}")
    try:
        with engine.connect() as conn:
            described = _describe(conn)
    finally:
        engine.dispose()
    if described["tables"] != manifest["tables"] or described["audit"]["head_hash"] != manifest["audit"]["head_hash"]:
        raise BackupError("the backup's database differs from its manifest (row counts or audit head)")
    src = sqlite3.connect(payload)
    dst = sqlite3.connect(_sqlite_path(url), timeout=30)
    try:
        src.backup(dst)  # one step, one transaction on the target: all or nothing
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite restore failed, the target is unchanged: {exc}") from None
    finally:
        dst.close()
        src.close()


def _restore_postgresql(payload: Path, url: str) -> None:
    pg_restore = _tool("pg_restore")
    uri, env = _libpq(url)
    _run([pg_restore, "--list", str(payload)], env, "reading the backup's table of contents (pg_restore --list)")
    _run([pg_restore, "--single-transaction", "--exit-on-error", "--clean", "--if-exists", "--no-owner",
          "--no-privileges", f"--dbname={uri}", str(payload)], env,
         "pg_restore (in one transaction: the target is unchanged)")


def restore(path: Path, url: str, force: bool = False) -> Restored:
    """Restore the backup ``path`` into the database at ``url``; then count rows and verify the audit chain.

    Raises:
        BackupError: the file is not a whole trialdesk backup, it is of the other database kind or
            an unknown schema revision, the target holds data and ``force`` is false, or the copy
            failed (the target is then unchanged).
    """
    dialect = _dialect(url)
    with _unpacked(Path(path)) as (manifest, payload):
        if manifest["dialect"] != dialect:
            raise BackupError(f"{path} is a {manifest['dialect']} backup; it restores into {manifest['dialect']} "
                              f"only, not {dialect}")
        _known_revision(manifest["schema_revision"])
        held = _holds_data(url)
        if held and not force:
            raise BackupError(f"the target database holds data ({held}); restore into an empty database, "
                              "or give --force to replace it")
        if dialect == "sqlite":
            _restore_sqlite(payload, manifest, url)
        else:
            _restore_postgresql(payload, url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = _counts(conn)
            with Session(bind=conn) as db:
                verification = audit.verify(db)
    finally:
        engine.dispose()
    return Restored(manifest, tables, verification)
