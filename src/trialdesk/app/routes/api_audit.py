"""The audit trail for monitors: list and filter, verify the chain, export as CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.app import audit
from trialdesk.app.deps import CanAudit, NowDep, SessionDep
from trialdesk.app.models import AuditRecord
from trialdesk.app.schemas import AuditRecordPublic
from trialdesk.app.screening_log import FORMULA_START

router = APIRouter(tags=["audit"])

FIELDS = ("seq", "at", "actor", "action", "history_type", "entity_type", "entity_key", "old", "new", "reason",
          "prev_hash", "hash")


def records(db: Session, entity_key: str | None = None, action: str | None = None, actor: str | None = None,
            limit: int = 500) -> list[AuditRecord]:
    q = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit)
    if entity_key:
        q = q.where(AuditRecord.entity_key == entity_key)
    if action:
        q = q.where(AuditRecord.action == action)
    if actor:
        q = q.where(AuditRecord.actor == actor)
    return list(db.execute(q).scalars())


def record_json(r: AuditRecord) -> dict:
    return {"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "history_type": r.history_type,
            "entity_type": r.entity_type, "entity_key": r.entity_key,
            "old": None if r.old is None else json.loads(r.old), "new": None if r.new is None else json.loads(r.new),
            "reason": r.reason, "hash": r.hash}


@router.get("/audit", response_model=list[AuditRecordPublic])
def list_audit(auth: CanAudit, db: SessionDep, entity_key: Annotated[str | None, Query(max_length=64)] = None,
               action: Annotated[str | None, Query(max_length=40)] = None,
               actor: Annotated[str | None, Query(max_length=64)] = None,
               limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    """Newest first; filter by screening number or user name (``entity_key``), action or actor."""
    return [record_json(r) for r in records(db, entity_key, action, actor, limit)]


@router.get("/audit/verify")
def verify_audit(auth: CanAudit, db: SessionDep) -> dict:
    """Check the hash chain; names the first broken record."""
    return audit.verify(db).to_json()


def _defused(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP "CSV
    injection"); the record itself, and ``audit verify``, are unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


@router.get("/audit/export.csv", response_class=Response)
def export_audit(auth: CanAudit, db: SessionDep, now: NowDep) -> Response:
    """The whole trail as CSV, oldest first (the export itself is recorded)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    rows = list(db.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars())
    for r in rows:
        writer.writerow([_defused(getattr(r, f)) for f in FIELDS])
    audit.append(db, at=now, actor=auth.user, action="export", history_type="=", entity_type="audit",
                 entity_key="audit", new={"format": "csv", "records": len(rows)})
    db.commit()
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'})
