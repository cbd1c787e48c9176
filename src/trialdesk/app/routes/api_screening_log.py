"""Screening log exports: CSV, XLSX and the CONSORT-style flow figure (SVG).

Each export is an audit record (action ``export``) with its format, row count and the sha256
of the file sent, so a file found later can be matched to who exported it and when.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from trialdesk.app import audit, screening_log as exports, workspace as ws
from trialdesk.app.deps import Auth, CanRead, NowDep, RuntimeDep, SessionDep

router = APIRouter(tags=["screening log"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _send(db: Session, auth: Auth, now: datetime, fmt: str, content: bytes, media_type: str, rows: int) -> Response:
    audit.append(db, at=now, actor=auth.user, action="export", history_type="=", entity_type="screening_log",
                 entity_key="screening_log",
                 new={"format": fmt, "rows": rows, "sha256": hashlib.sha256(content).hexdigest()})
    db.commit()
    name = f"screening-log-{now.date().isoformat()}.{fmt}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/screening-log/export.csv", response_class=Response)
def export_csv(auth: CanRead, db: SessionDep, now: NowDep) -> Response:
    """The screening log as CSV (UTF-8), one row per candidate."""
    log = ws.screening_log(db)
    return _send(db, auth, now, "csv", exports.to_csv(log).encode("utf-8"), "text/csv; charset=utf-8",
                 len(log["candidates"]))


@router.get("/screening-log/export.xlsx", response_class=Response)
def export_xlsx(auth: CanRead, db: SessionDep, now: NowDep) -> Response:
    """The screening log as XLSX: sheet "Screening log" (one row per candidate) and sheet "Counts"."""
    log = ws.screening_log(db)
    return _send(db, auth, now, "xlsx", exports.to_xlsx(log, ws.STATUSES, now), XLSX, len(log["candidates"]))


@router.get("/screening-log/flow.svg", response_class=Response)
def flow_svg(auth: CanRead, db: SessionDep, rt: RuntimeDep, now: NowDep) -> Response:
    """The CONSORT-style flow of the screening per cohort, as SVG."""
    log = ws.screening_log(db)
    titles = {k.id: k.title for k in rt.engine.protocol.criteria}
    svg = exports.flow_svg(exports.flow(log), titles,
                           f"Screening flow, {rt.engine.protocol.id} {rt.engine.protocol.version}, "
                           f"{now.date().isoformat()}: {len(log['candidates'])} candidates")
    return _send(db, auth, now, "svg", svg.encode("utf-8"), "image/svg+xml", len(log["candidates"]))
