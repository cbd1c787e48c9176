"""``trialdesk backup`` / ``restore`` on SQLite and PostgreSQL: a backup taken while writes go on
restores into a fresh database with the same rows and a verifying audit chain; a truncated or
corrupt backup, a target holding data, or a backup of the other database kind is refused with a
clear message, and the target is left as it was."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from .app_helpers import example, make_site, new_candidate, post_bundle
from .conftest import SERVER, throwaway_postgres
from trialdesk.app.audit import verify
from trialdesk.app.db import make_engine, session_factory, upgrade
from trialdesk.app.settings import database_url as normalise


@pytest.fixture
def fresh_url(database_url, tmp_path) -> Iterator[str]:
    """A second, empty database of the same kind as ``database_url`` (PostgreSQL: a new database)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    with throwaway_postgres("trialdesk_test_restore") as url:
        yield url


def rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, sorted, per table."""
    engine = make_engine(normalise(url))
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
                    for t in meta.sorted_tables}
    finally:
        engine.dispose()


def audit_ok(url: str) -> tuple[bool, int]:
    engine = make_engine(normalise(url))
    try:
        with session_factory(engine)() as db:
            v = verify(db)
        return v.ok, v.checked
    finally:
        engine.dispose()


def populate(site, n: int = 3) -> None:
    for name in ("sle-eligible", "srns-eligible", "sle-live-vaccine")[:n]:
        number = new_candidate(site, None)
        assert post_bundle(site, number, example(name)).status_code == 200


def test_backup_and_restore_give_identical_rows_and_a_verifying_audit_chain(cli, site, database_url, fresh_url,
                                                                           tmp_path):
    populate(site)
    out = tmp_path / "site.tdbackup"
    made = CliRunner().invoke(cli, ["backup", "--database-url", database_url, str(out)])
    assert made.exit_code == 0, made.output
    assert "audit trail OK" in made.output
    source = rows(database_url)

    done = CliRunner().invoke(cli, ["restore", str(out), "--database-url", fresh_url])
    assert done.exit_code == 0, done.output
    assert f"audit trail OK: {len(source['audit_records'])} records" in done.output
    assert rows(fresh_url) == source
    assert audit_ok(fresh_url) == (True, len(source["audit_records"]))
    with tarfile.open(out) as tar:
        assert tar.getnames()[0] == "manifest.json"
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["tables"]["candidates"] == 3 and manifest["audit"]["ok"]


def test_backup_while_writes_go_on_is_consistent(cli, site, database_url, fresh_url, tmp_path):
    populate(site, 1)
    coordinator = site.client("coordinator")
    stop, written, failures = threading.Event(), [], []

    def write() -> None:
        while not stop.is_set() and len(written) < 200:
            r = coordinator.post("/api/candidates", json={"cohort": "SLE", "as_of": "2026-03-02"})
            if r.status_code != 201:
                failures.append(r.text)
                return
            number = r.json()["number"]
            r = coordinator.post(f"/api/candidates/{number}/screenings", content=example("sle-eligible"),
                                 headers={"Content-Type": "application/fhir+json"})
            (written if r.status_code == 200 else failures).append(number if r.status_code == 200 else r.text)

    writer = threading.Thread(target=write)
    writer.start()
    backups = []
    try:
        while len(written) < 2 and writer.is_alive():  # writes are under way
            stop.wait(0.05)
        for i in range(3):
            out = tmp_path / f"during-{i}.tdbackup"
            made = CliRunner().invoke(cli, ["backup", "--database-url", database_url, str(out)])
            assert made.exit_code == 0, made.output
            backups.append(out)
    finally:
        stop.set()
        writer.join()
    assert not failures
    source = rows(database_url)
    with tarfile.open(backups[-1]) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["audit"]["ok"]
    assert manifest["tables"]["audit_records"] < len(source["audit_records"]), "no write after the backup"

    done = CliRunner().invoke(cli, ["restore", str(backups[-1]), "--database-url", fresh_url])
    assert done.exit_code == 0, done.output
    restored = rows(fresh_url)
    assert {t: len(r) for t, r in restored.items()} == manifest["tables"]
    # the restored trail is exactly the source's trail up to the backup's snapshot
    n = manifest["tables"]["audit_records"]
    assert restored["audit_records"] == sorted(sorted(source["audit_records"], key=lambda r: r[0])[:n], key=repr)
    for append_only in ("data_versions", "screenings"):
        assert set(restored[append_only]) <= set(source[append_only])
    assert audit_ok(fresh_url) == (True, n)


def _damaged(backup: Path, tmp_path: Path) -> dict[str, Path]:
    """The ways a backup file can be damaged: truncated at several points, a flipped byte, and a
    damaged payload whose manifest was made to match it (only the database checks can tell)."""
    data = backup.read_bytes()
    with tarfile.open(backup) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        payload_member = tar.getmember(manifest["payload"])
        payload = tar.extractfile(payload_member).read()
    out = {}
    payload_end = payload_member.offset_data + len(payload)  # after it, only tar's zero padding
    for name, cut in (("empty", 0), ("manifest-only", 1024), ("half", len(data) // 2), ("end", payload_end - 100)):
        out[f"truncated-{name}"] = tmp_path / f"truncated-{name}.tdbackup"
        out[f"truncated-{name}"].write_bytes(data[:cut])
    flipped = bytearray(data)
    flipped[payload_member.offset_data + len(payload) // 2] ^= 0xFF
    out["flipped-byte"] = tmp_path / "flipped.tdbackup"
    out["flipped-byte"].write_bytes(bytes(flipped))
    cut_payload = payload[: len(payload) * 2 // 3]
    forged = dict(manifest, payload_bytes=len(cut_payload), payload_sha256=hashlib.sha256(cut_payload).hexdigest())
    out["consistent-but-truncated-payload"] = tmp_path / "forged.tdbackup"
    with tarfile.open(out["consistent-but-truncated-payload"], "w") as tar:
        for name, content in (("manifest.json", json.dumps(forged).encode()), (manifest["payload"], cut_payload)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return out


def backup_of_site_and_busy_target(cli, database_url: str, fresh_url: str, tmp_path, n: int = 3):
    """A backup of a site with ``n`` candidates; the target database already holds one."""
    source = make_site(database_url)
    target = make_site(fresh_url)
    try:
        populate(source, n)
        populate(target, 1)
    finally:
        source.dispose()
        target.dispose()
    out = tmp_path / "site.tdbackup"
    assert CliRunner().invoke(cli, ["backup", "--database-url", database_url, str(out)]).exit_code == 0
    return out


def test_a_damaged_backup_is_refused_and_the_target_is_untouched(cli, database_url, fresh_url, tmp_path):
    out = backup_of_site_and_busy_target(cli, database_url, fresh_url, tmp_path)
    before = rows(fresh_url)
    for kind, damaged in _damaged(out, tmp_path).items():
        done = CliRunner().invoke(cli, ["restore", str(damaged), "--database-url", fresh_url, "--force"])
        assert done.exit_code == 2, (kind, done.output)
        assert "nothing was restored" in done.output, (kind, done.output)
        assert str(damaged) in done.output or "damaged" in done.output or "pg_restore" in done.output, kind
        assert rows(fresh_url) == before, kind
    assert audit_ok(fresh_url)[0]


def test_a_target_holding_data_needs_force(cli, database_url, fresh_url, tmp_path):
    out = backup_of_site_and_busy_target(cli, database_url, fresh_url, tmp_path, 2)
    before = rows(fresh_url)
    refused = CliRunner().invoke(cli, ["restore", str(out), "--database-url", fresh_url])
    assert refused.exit_code == 2
    assert "holds data (" in refused.output and "--force" in refused.output
    assert rows(fresh_url) == before
    forced = CliRunner().invoke(cli, ["restore", str(out), "--database-url", fresh_url, "--force"])
    assert forced.exit_code == 0, forced.output
    assert rows(fresh_url) == rows(database_url)


def test_an_empty_migrated_target_is_restored_without_force(cli, site, database_url, fresh_url, tmp_path):
    populate(site, 1)
    engine = make_engine(normalise(fresh_url))
    try:
        upgrade(engine)  # what 'trialdesk serve' leaves in a new database: the schema, no rows
    finally:
        engine.dispose()
    out = tmp_path / "site.tdbackup"
    assert CliRunner().invoke(cli, ["backup", "--database-url", database_url, str(out)]).exit_code == 0
    done = CliRunner().invoke(cli, ["restore", str(out), "--database-url", fresh_url])
    assert done.exit_code == 0, done.output
    assert rows(fresh_url) == rows(database_url)


def test_backup_never_overwrites_and_kinds_do_not_mix(cli, site, database_url, tmp_path):
    out = tmp_path / "site.tdbackup"
    out.write_bytes(b"keep me")
    refused = CliRunner().invoke(cli, ["backup", "--database-url", database_url, str(out)])
    assert refused.exit_code == 2 and "never overwrites" in refused.output
    assert out.read_bytes() == b"keep me"
    out.unlink()
    assert CliRunner().invoke(cli, ["backup", "--database-url", database_url, str(out)]).exit_code == 0
    other = (f"{SERVER}/postgres" if database_url.startswith("sqlite") else f"sqlite:///{tmp_path / 'other.db'}")
    mixed = CliRunner().invoke(cli, ["restore", str(out), "--database-url", other])
    assert mixed.exit_code == 2
    assert "restores into" in mixed.output and "nothing was restored" in mixed.output
