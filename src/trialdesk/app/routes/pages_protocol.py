"""Pages for protocol versions: the list (everyone), loading an amendment, its preview and applying
it (investigators). The same functions as the JSON API (:mod:`trialdesk.app.routes.api_protocol`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from trialdesk.app import amendments, protocol_versions as pv
from trialdesk.app.deps import CanAmend, CanSelf, NowDep, RuntimeDep, SessionDep
from trialdesk.app.errors import Invalid
from trialdesk.app.routes.api_protocol import user_names
from trialdesk.app.routes.pages import back, render
from trialdesk.protocol.lint import lint

router = APIRouter(include_in_schema=False)


@router.get("/protocol")
def versions_page(request: Request, auth: CanSelf, db: SessionDep, rt: RuntimeDep) -> HTMLResponse:
    names = user_names(db)
    return render(request, "protocol.html", auth, versions=[pv.public(r, names) for r in pv.versions(db)],
                  max_upload=rt.settings.max_upload_bytes)


@router.post("/protocol")
async def load_submit(auth: CanAmend, db: SessionDep, rt: RuntimeDep, now: NowDep,
                      archive: Annotated[UploadFile, File()]) -> Response:
    content = await archive.read(rt.settings.max_upload_bytes + 1)
    if len(content) > rt.settings.max_upload_bytes:
        raise Invalid(f"the file is over the limit of {rt.settings.max_upload_bytes} bytes")
    checked = await run_in_threadpool(pv.check_files, pv.files_of_archive(content))
    row = pv.store(db, auth.user, now, checked)
    db.commit()
    return back(f"/protocol/versions/{row.id}")


@router.get("/protocol/versions/{version_id}")
def preview_page(version_id: int, request: Request, auth: CanAmend, db: SessionDep, rt: RuntimeDep,
                 now: NowDep) -> HTMLResponse:
    row = pv.version_by_id(db, version_id)
    report = amendments.preview(db, rt.protocols, row, auth.user, now)
    warnings = [w for w in lint(rt.protocols.protocol_of(db, row)) if w.severity != "error"]
    return render(request, "protocol_preview.html", auth, row=pv.public(row, user_names(db)), report=report,
                  warnings=warnings)


@router.post("/protocol/versions/{version_id}/activate")
def activate_submit(version_id: int, auth: CanAmend, db: SessionDep, rt: RuntimeDep, now: NowDep,
                    reason: Annotated[str, Form(max_length=2000)],
                    preview_sha256: Annotated[str, Form(max_length=64)]) -> Response:
    amendments.apply(db, rt.protocols, pv.version_by_id(db, version_id), auth.user, now, reason, preview_sha256)
    return back("/protocol")
