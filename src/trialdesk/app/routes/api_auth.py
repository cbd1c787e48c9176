"""Log-in, log-out, who am I, and the protocol summary."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from trialdesk.app.deps import CanCount, CanSelf, NowDep, RuntimeDep, SessionDep
from trialdesk.app.schemas import LoginIn, LoginOut
from trialdesk.app.security import SESSION_COOKIE, csrf_token
from trialdesk.app.users import login, logout, user_public
from trialdesk.app.workspace import ENGINE_VERSION, counts, lab_measures

router = APIRouter(tags=["auth"])


def client_of(request: Request) -> str:
    return request.client.host if request.client else "-"


def set_session_cookie(response: Response, rt, token: str) -> None:  # type: ignore[no-untyped-def]
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=rt.settings.https, path="/")


@router.post("/auth/login", response_model=LoginOut)
def api_login(body: LoginIn, request: Request, response: Response, db: SessionDep, rt: RuntimeDep,
              now: NowDep) -> dict:
    """Log in; sets the session cookie and returns the CSRF token for this session."""
    user, token = login(db, rt.settings, rt.passwords, body.username, body.password, client_of(request), now)
    set_session_cookie(response, rt, token)
    return {"user": user_public(user), "csrf_token": csrf_token(rt.settings, token)}


@router.post("/auth/logout", status_code=204)
def api_logout(auth: CanSelf, response: Response, db: SessionDep, rt: RuntimeDep, now: NowDep) -> Response:
    logout(db, rt.settings, auth.user, auth.token, now)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=LoginOut)
def api_me(auth: CanSelf) -> dict:
    return {"user": user_public(auth.user), "csrf_token": auth.csrf}


@router.get("/protocol", tags=["protocol"])
def api_protocol(auth: CanSelf, rt: RuntimeDep) -> dict:
    """The protocol the application screens under, its cohorts and the labs enterable by form."""
    p = rt.engine.protocol
    return {"id": p.id, "version": p.version, "sha256": p.sha256, "title": p.title,
            "cohorts": {c.id: c.title for c in p.cohorts.values()}, "engine_version": ENGINE_VERSION,
            "lab_measures": lab_measures(p)}


@router.get("/counts", tags=["screening log"])
def api_counts(auth: CanCount, db: SessionDep) -> dict:
    """Candidates per cohort and status: numbers only (what an admin may see)."""
    return counts(db)
