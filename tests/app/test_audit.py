"""The audit trail: what is recorded, append-only in the database, and tampering detected."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from .app_helpers import example, new_candidate, post_bundle
from trialdesk.app.audit import record_hash, verify
from trialdesk.app.models import AuditRecord


def run_verify(cli, url: str):
    return CliRunner().invoke(cli, ["audit", "verify", "--database-url", url])


def busy_site(site) -> str:
    """Log-ins, a candidate, an import and screening, a decision and a signature."""
    number = new_candidate(site)
    post_bundle(site, number, example("sle-old-seizure"))
    inv = site.client("investigator")
    inv.post(f"/api/candidates/{number}/decisions", json={"criterion_id": "EXC-CNS", "decision": "pass",
                                                           "reason": "febrile seizure in infancy"})
    inv.post(f"/api/candidates/{number}/signatures", json={"password": "investigator-password-1"})
    return number


def rows(site) -> list[AuditRecord]:
    with site.db() as db:
        return list(db.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars())


def test_every_kind_of_event_is_recorded_with_who_what_when_why(site):
    number = busy_site(site)
    records = rows(site)
    kinds = [(r.action, r.history_type, r.entity_type) for r in records]
    for expected in [("create", "+", "user"), ("login", "=", "user"), ("create", "+", "candidate"),
                     ("import", "+", "data"), ("screen", "+", "screening"), ("decide", "+", "review"),
                     ("sign", "+", "signature")]:
        assert expected in kinds
    decision = next(r for r in records if r.action == "decide")
    assert decision.actor == "investigator" and decision.entity_key == number
    assert decision.reason == "febrile seizure in infancy"
    assert json.loads(decision.new)["decision"] == "pass" and decision.old is None
    site.client("investigator").post(f"/api/candidates/{number}/decisions", json={
        "criterion_id": "EXC-CNS", "decision": "fail", "reason": "on reflection, recurrent"})
    change = rows(site)[-2:]
    assert change[0].action == "decide" and change[0].history_type == "~"
    assert json.loads(change[0].old) == {"criterion": "EXC-CNS", "decision": "pass"}
    assert change[1].action == "invalidate" and "a review decision changed" in change[1].reason
    assert [r.seq for r in rows(site)] == list(range(1, len(rows(site)) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(rows(site), rows(site)[1:], strict=False))


def test_monitors_list_filter_verify_and_export(site):
    number = busy_site(site)
    mon = site.client("monitor")
    listed = mon.get("/api/audit", params={"entity_key": number}).json()
    assert listed and all(r["entity_key"] == number for r in listed)
    assert listed[0]["seq"] > listed[-1]["seq"]  # newest first
    assert mon.get("/api/audit", params={"action": "sign"}).json()[0]["actor"] == "investigator"
    assert mon.get("/api/audit/verify").json()["ok"] is True
    export = mon.get("/api/audit/export.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert len(table) == len(rows(site)) - 1  # the export records itself after writing
    assert rows(site)[-1].action == "export"
    page = mon.get("/audit", params={"entity_key": number})
    assert page.status_code == 200 and "Hash chain verified" in page.text and "febrile seizure" in page.text


def test_the_database_refuses_updates_and_deletes(site):
    busy_site(site)
    engine = site.app.state.db_engine
    for statement in ("UPDATE audit_records SET reason = 'x' WHERE seq = 2", "DELETE FROM audit_records WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))


def _drop_triggers(conn, dialect: str) -> None:
    """What someone with the database owner's rights can do (the PostgreSQL fixture re-enables it)."""
    if dialect == "sqlite":
        conn.execute(text("DROP TRIGGER audit_records_no_update"))
        conn.execute(text("DROP TRIGGER audit_records_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only"))


@pytest.mark.parametrize("tamper, seq, problem", [
    ("UPDATE audit_records SET reason = 'no seizure' WHERE seq = {n}", "n", "was changed"),
    ("UPDATE audit_records SET new = replace(new, 'pass', 'fail') WHERE seq = {n}", "n", "was changed"),
    ("DELETE FROM audit_records WHERE seq = {n}", "n", "missing (the next is"),
    ("DELETE FROM audit_records WHERE seq = (SELECT max(seq) FROM audit_records)", "last", "at the end were deleted"),
], ids=["edit-reason", "edit-value", "delete-middle", "delete-last"])
def test_audit_verify_detects_a_record_edited_in_the_database(site, database_url, cli, tamper, seq, problem):
    busy_site(site)
    assert run_verify(cli, database_url).exit_code == 0
    decided = next(r for r in rows(site) if r.action == "decide")
    total = len(rows(site))
    engine = site.app.state.db_engine
    with engine.begin() as conn:
        _drop_triggers(conn, engine.dialect.name)
        conn.execute(text(tamper.format(n=decided.seq)))
    result = run_verify(cli, database_url)
    assert result.exit_code == 1
    expected = {"n": decided.seq, "last": total}[seq]
    assert f"BROKEN at record {expected}:" in result.output and problem in result.output
    with site.db() as db:
        assert verify(db).broken.seq == expected
    assert site.client("monitor").get("/api/audit/verify").json()["broken"]["seq"] == expected


@pytest.mark.parametrize("action", ["decide", "sign"])
def test_a_recomputed_hash_still_breaks_the_chain(site, database_url, cli, action):
    """Rewriting a record *and* its own hash breaks the next record's prev_hash, or the head for the last."""
    busy_site(site)
    target = next(r for r in rows(site) if r.action == action)
    last = target.seq == rows(site)[-1].seq
    target.reason = "forged"
    forged = record_hash(target)
    engine = site.app.state.db_engine
    with engine.begin() as conn:
        _drop_triggers(conn, engine.dialect.name)
        conn.execute(text("UPDATE audit_records SET reason = 'forged', hash = :h WHERE seq = :s"),
                     {"h": forged, "s": target.seq})
    result = run_verify(cli, database_url)
    assert result.exit_code == 1 and f"record {target.seq + (0 if last else 1)}:" in result.output


def test_verify_an_empty_trail(database_url, cli):
    from trialdesk.app.db import make_engine, upgrade
    from trialdesk.app.settings import database_url as normalise

    engine = make_engine(normalise(database_url))
    upgrade(engine)
    engine.dispose()
    result = run_verify(cli, database_url)
    assert result.exit_code == 0 and "0 records" in result.output
