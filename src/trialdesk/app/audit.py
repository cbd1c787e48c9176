"""The append-only, hash-chained audit trail.

Each record says who (``actor``), when (``at``), what (``action`` on ``entity_type``
``entity_key``, with ``history_type`` ``+``/``~``/``-``/``=``), the values before and
after (``old`` -> ``new``, JSON) and why (``reason``). Record *n*'s hash is

    sha256(canonical JSON of [seq, at, actor_id, actor, action, history_type,
                              entity_type, entity_key, old, new, reason, prev_hash])

with ``prev_hash`` the hash of record *n-1* (64 zeros for the first), so changing,
inserting or deleting any record breaks every hash after it. ``audit_head`` keeps the
last sequence number and hash, so dropping records from the end is detected too.

Records carry screening numbers and hashes, never patient identifiers or bundle contents.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from trialdesk.app.models import AuditHead, AuditRecord, User

__all__ = ["GENESIS", "Broken", "Verification", "append", "canonical", "delta", "record_hash", "verify"]

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    """The one JSON text of ``value`` that hashes are taken over (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_hash(r: AuditRecord) -> str:
    return sha256_text(canonical([r.seq, r.at, r.actor_id, r.actor, r.action, r.history_type, r.entity_type,
                                  r.entity_key, r.old, r.new, r.reason, r.prev_hash]))


def delta(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ between two states, as (old values, new values).

    Example:
        >>> delta({"cohort": "SLE", "as_of": "2026-03-02"}, {"cohort": "SRNS", "as_of": "2026-03-02"})
        ({'cohort': 'SLE'}, {'cohort': 'SRNS'})
    """
    keys = [k for k in {**old, **new} if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}


PENDING = "trialdesk.audit.pending"


def append(db: Session, *, at: datetime, actor: User | None, action: str, history_type: str, entity_type: str,
           entity_key: str, old: Any = None, new: Any = None, reason: str | None = None,
           actor_name: str | None = None) -> AuditRecord:
    """Add one record to the caller's transaction: it is chained and written when the transaction
    commits, and dropped if it rolls back (see :func:`_write_pending`)."""
    record = AuditRecord(
        at=at.isoformat(timespec="microseconds"), actor_id=actor.id if actor else None,
        actor=actor.username if actor else (actor_name or "-"), action=action, history_type=history_type,
        entity_type=entity_type, entity_key=entity_key,
        old=None if old is None else canonical(old), new=None if new is None else canonical(new), reason=reason)
    db.info.setdefault(PENDING, []).append(record)
    return record


@event.listens_for(Session, "before_commit")
def _write_pending(db: Session) -> None:
    """Chain the transaction's records onto the head, at commit.

    Updating the head row takes the write lock (SQLite) or the row lock (PostgreSQL), so
    concurrent writers append one after the other; taking it only at commit keeps that lock
    for milliseconds, not for the whole request (a screening held it for hundreds of
    milliseconds and stalled every writer under load: scripts/bench-load).
    """
    pending = db.info.pop(PENDING, None)
    if not pending:
        return
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + len(pending)))
    last_seq, prev = db.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    for i, record in enumerate(pending):
        record.seq, record.prev_hash = last_seq - len(pending) + 1 + i, prev
        record.hash = prev = record_hash(record)
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev))
    db.add_all(pending)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(db: Session, transaction) -> None:  # type: ignore[no-untyped-def]
    """A transaction that ended without committing (rollback, close) takes its records with it."""
    if transaction.parent is None:
        db.info.pop(PENDING, None)


@dataclass(frozen=True)
class Broken:
    """The first record that does not verify, and why."""

    seq: int | None
    problem: str


@dataclass(frozen=True)
class Verification:
    checked: int
    head_hash: str
    broken: Broken | None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "head_hash": self.head_hash,
                "broken": None if self.broken is None else {"seq": self.broken.seq, "problem": self.broken.problem}}


def verify_records(records: Iterable[AuditRecord], head: AuditHead | None) -> Verification:
    """Check the chain in ``records`` (in ``seq`` order) against ``head``."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for r in records:
        if r.seq != expected_seq:
            gone = f"record {expected_seq}" if r.seq == expected_seq + 1 else f"records {expected_seq} to {r.seq - 1}"
            return Verification(checked, prev, Broken(expected_seq, f"{gone} missing (the next is {r.seq}): "
                                                                    "records were deleted"))
        if r.prev_hash != prev:
            return Verification(checked, prev, Broken(r.seq, "prev_hash does not match the previous record's hash"))
        if record_hash(r) != r.hash:
            return Verification(checked, prev, Broken(r.seq, "hash does not match the record's content: "
                                                            "the record was changed"))
        prev, expected_seq, checked = r.hash, expected_seq + 1, checked + 1
    if head is None:
        return Verification(checked, prev, Broken(None, "audit_head row is missing"))
    if head.seq > checked:
        return Verification(checked, prev, Broken(checked + 1, f"records {checked + 1} to {head.seq} are missing "
                                                               "(audit_head counts them): "
                                                               "records at the end were deleted"))
    if head.seq < checked:
        return Verification(checked, prev, Broken(head.seq + 1, f"records after {head.seq} are not in audit_head: "
                                                                "records were added outside the application"))
    if head.hash != prev:
        return Verification(checked, prev, Broken(checked, "the last record's hash differs from audit_head: "
                                                           "the last record (or the head) was changed"))
    return Verification(checked, prev, None)


def verify(db: Session) -> Verification:
    """Verify the whole chain stored in ``db``."""
    records = db.execute(select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=1000)).scalars()
    head = db.get(AuditHead, 1)
    return verify_records(records, head)
