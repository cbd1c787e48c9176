"""Protocol versions: list them; an investigator loads an amendment (a zip or tar of the protocol
folder), previews what it would change for the open candidates, and applies it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select

from trialdesk.app import amendments, protocol_versions as pv
from trialdesk.app.deps import CanAmend, CanSelf, NowDep, RuntimeDep, SessionDep
from trialdesk.app.models import User

router = APIRouter(tags=["protocol"])

ARCHIVE_TYPES = ("application/zip", "application/x-tar", "application/gzip", "application/x-gzip",
                 "application/x-compressed-tar", "application/octet-stream")


class ActivateIn(BaseModel):
    reason: str = Field(max_length=2000, description="Why (e.g. the ethics committee's approval of the amendment)")
    preview_sha256: str | None = Field(None, max_length=64, description="The preview's hash, as seen: if the "
                                       "preview differs now, nothing is applied (409)")


def user_names(db) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return dict(db.execute(select(User.id, User.username)).all())


@router.get("/protocol/versions")
def api_versions(auth: CanSelf, db: SessionDep) -> dict:
    """Every protocol version loaded into the site; the active one screens."""
    names = user_names(db)
    return {"versions": [pv.public(row, names) for row in pv.versions(db)]}


@router.post("/protocol/versions", status_code=201, openapi_extra={"requestBody": {"required": True, "content": {
    t: {"schema": {"type": "string", "format": "binary"}} for t in ARCHIVE_TYPES}}})
async def api_load(request: Request, auth: CanAmend, db: SessionDep, rt: RuntimeDep, now: NowDep) -> dict:
    """Load an amended protocol version (a zip or tar of its folder): checked by the strict loader and
    lint (422 lists the problems), stored inactive, and previewed."""
    content = await request.body()
    return await run_in_threadpool(load_archive, db, rt, auth.user, now, content)


def load_archive(db, rt, user: User, now, content: bytes) -> dict:  # type: ignore[no-untyped-def]
    """Check and store an uploaded archive; returns the stored version, lint warnings and the preview."""
    checked = pv.check_files(pv.files_of_archive(content))
    row = pv.store(db, user, now, checked)
    db.commit()
    return {"version": pv.public(row, user_names(db)), "lint_warnings": checked.warnings,
            "preview": amendments.preview(db, rt.protocols, row, user, now)}


@router.get("/protocol/versions/{version_id}/preview")
def api_preview(version_id: int, auth: CanAmend, db: SessionDep, rt: RuntimeDep, now: NowDep) -> dict:
    """Re-screen the open candidates under this version without storing anything: per candidate the
    old and new status and the criteria whose outcome changes, with the reasons."""
    return amendments.preview(db, rt.protocols, pv.version_by_id(db, version_id), auth.user, now)


@router.post("/protocol/versions/{version_id}/activate")
def api_activate(version_id: int, body: Annotated[ActivateIn, Body()], auth: CanAmend, db: SessionDep,
                 rt: RuntimeDep, now: NowDep) -> dict:
    """Make this version active and store a new screening for every open candidate (audited)."""
    row = pv.version_by_id(db, version_id)
    report = amendments.apply(db, rt.protocols, row, auth.user, now, body.reason, body.preview_sha256)
    return {"version": pv.public(row, user_names(db)), "applied": report}
