"""Server-rendered pages (Jinja2, autoescaped; no script). Each form posts its CSRF token.

Every page calls the same workspace functions as the JSON API; a failed action shows an
error page with the reason and a link back.
"""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from trialdesk.app import audit, data_entry, forms, workspace as ws
from trialdesk.app.deps import (Auth, CanAudit, CanDecide, CanEnroll, CanManageUsers, CanRead, CanSelf, CanSign,
                                CanWrite, NowDep, PERMISSIONS, RuntimeDep, SeenVersion, SessionDep, current_auth)
from trialdesk.app.errors import Invalid, NotAuthenticated, Throttled
from trialdesk.app.models import ROLES, User
from trialdesk.app.routes import api_audit
from trialdesk.app.routes.api_auth import client_of, set_session_cookie
from trialdesk.app.routes.api_candidates import check_signer_password
from trialdesk.app.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from trialdesk.app.users import create_user, login, logout

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
templates.env.autoescape = True

Text = Annotated[str, Form(max_length=2000)]


def can(auth: Auth | None, permission: str) -> bool:
    return auth is not None and auth.user.role in PERMISSIONS[permission]


def render(request: Request, name: str, auth: Auth | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"auth": auth, "can": lambda p: can(auth, p), **context},
                                      status_code=status_code)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", getattr(request.state, "auth", None), status_code=status_code,
                  status=status_code, message=message)


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name}: {value!r} is not a date YYYY-MM-DD") from None


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- log-in

@router.get("/login")
def login_form(request: Request, db: SessionDep, rt: RuntimeDep, now: NowDep, logged_out: bool = False) -> Response:
    if current_auth(request, db, rt, now) is not None:
        return back("/")
    return _login_page(request, rt, "You have logged out." if logged_out else None, 200)


def _login_page(request: Request, rt: Any, message: str | None, status_code: int) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status_code=status_code, login_csrf=token, message=message,
                      demo=rt.settings.demo)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=rt.settings.https,
                        path="/login")
    return response


@router.post("/login")
def login_submit(request: Request, db: SessionDep, rt: RuntimeDep, now: NowDep,
                 username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=1024)],
                 csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        return _login_page(request, rt, "The log-in form expired: please try again.", 403)
    try:
        _user, token = login(db, rt.settings, rt.passwords, username, password, client_of(request), now)
    except (NotAuthenticated, Throttled) as exc:
        return _login_page(request, rt, exc.message, exc.status_code)
    response = back("/")
    set_session_cookie(response, rt, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout_submit(auth: CanSelf, db: SessionDep, rt: RuntimeDep, now: NowDep) -> Response:
    logout(db, rt.settings, auth.user, auth.token, now)
    response = back("/login?logged_out=1")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(auth: CanSelf) -> Response:
    return back("/users" if auth.user.role == "admin" else "/candidates")


# ---------------------------------------------------------------- screening log and workspace

@router.get("/candidates")
def candidates_page(request: Request, auth: CanRead, db: SessionDep, rt: RuntimeDep) -> HTMLResponse:
    return render(request, "candidates.html", auth, log=ws.screening_log(db), cohorts=rt.engine.protocol.cohorts,
                  statuses=ws.STATUSES)


@router.post("/candidates")
def candidates_create(auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
                      cohort: Annotated[str, Form(max_length=16)] = "", as_of: Annotated[str, Form(max_length=10)] = "",
                      enrollment: Annotated[str, Form(max_length=10)] = "",
                      lymphodepletion: Annotated[str, Form(max_length=10)] = "",
                      infusion: Annotated[str, Form(max_length=10)] = "") -> Response:
    c = ws.create_candidate(db, rt.engine, auth.user, now, cohort or None, _date(as_of, "screening date"),
                            _date(enrollment, "enrollment date"), _date(infusion, "infusion date"),
                            _date(lymphodepletion, "lymphodepletion date"))
    return back(f"/candidates/{c.number}")


def _criteria_meta(rt: Any) -> dict[str, Any]:
    return {c.id: c for c in rt.engine.protocol.criteria}


@router.get("/candidates/{number}")
def workspace_page(number: str, request: Request, auth: CanRead, db: SessionDep, rt: RuntimeDep) -> HTMLResponse:
    c = ws.candidate_by_number(db, number)
    return render(request, "workspace.html", auth, c=c, w=ws.checklist(db, c), meta=_criteria_meta(rt),
                  cohorts=rt.engine.protocol.cohorts, labs=ws.lab_measures(rt.engine.protocol),
                  max_upload=rt.settings.max_upload_bytes, entry=forms.choices(rt.engine.protocol),
                  records=data_entry.records(db, c, rt.engine.protocol))


@router.post("/candidates/{number}/import")
async def import_submit(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
                        bundle: Annotated[UploadFile, File()], seen: SeenVersion) -> Response:
    c = await run_in_threadpool(ws.candidate_by_number, db, number)
    content = await bundle.read(rt.settings.max_upload_bytes + 1)
    if len(content) > rt.settings.max_upload_bytes:
        raise Invalid(f"the file is over the limit of {rt.settings.max_upload_bytes} bytes")
    await run_in_threadpool(ws.import_bundle, db, rt.engine, auth.user, now, c, content, seen=seen)
    return back(f"/candidates/{c.number}")


@router.post("/candidates/{number}/settings")
def settings_submit(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep, seen: SeenVersion,
                    cohort: Annotated[str, Form(max_length=16)] = "", as_of: Annotated[str, Form(max_length=10)] = "",
                    enrollment: Annotated[str, Form(max_length=10)] = "",
                    lymphodepletion: Annotated[str, Form(max_length=10)] = "",
                    infusion: Annotated[str, Form(max_length=10)] = "", reason: Text = "") -> Response:
    c = ws.candidate_by_number(db, number)
    changes = {"cohort": cohort or None, "as_of": _date(as_of, "screening date"),
               "enrollment": _date(enrollment, "enrollment date"),
               "lymphodepletion": _date(lymphodepletion, "lymphodepletion date"),
               "infusion": _date(infusion, "infusion date")}
    ws.update_candidate(db, rt.engine, auth.user, now, c, changes, reason or None, seen=seen)
    return back(f"/candidates/{c.number}")


@router.post("/candidates/{number}/screen")
def screen_submit(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
                  seen: SeenVersion) -> Response:
    c = ws.candidate_by_number(db, number)
    ws.run_screening(db, rt.engine, auth.user, now, c, seen=seen)
    return back(f"/candidates/{c.number}")


@router.post("/candidates/{number}/labs")
def lab_submit(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
               measure: Annotated[str, Form(max_length=40)], value: Annotated[float, Form()],
               unit: Annotated[str, Form(max_length=40)], when: Annotated[str, Form(max_length=10)],
               seen: SeenVersion, reference_high: Annotated[str, Form(max_length=20)] = "") -> Response:
    c = ws.candidate_by_number(db, number)
    try:
        high = float(reference_high) if reference_high else None
    except ValueError:
        raise Invalid("the reference range's upper limit is not a number") from None
    ws.add_lab(db, rt.engine, auth.user, now, c, measure, value, unit, _date(when, "result date") or now.date(),
               high, seen=seen)
    return back(f"/candidates/{c.number}")


# ---------------------------------------------------------------- review and signature

@router.get("/candidates/{number}/review")
def review_page(number: str, request: Request, auth: CanRead, db: SessionDep, rt: RuntimeDep) -> HTMLResponse:
    c = ws.candidate_by_number(db, number)
    w = ws.checklist(db, c)
    cohort = w["screening"]["cohort"] if w["screening"] else None
    verdict = w["screening"]["verdict"] if w["screening"] else None
    meaning = ws.meaning_text(c, cohort, verdict) if cohort and verdict in ("eligible", "ineligible") else None
    return render(request, "review.html", auth, c=c, w=w, meta=_criteria_meta(rt), meaning=meaning)


@router.post("/candidates/{number}/decisions")
def decision_submit(number: str, auth: CanDecide, db: SessionDep, now: NowDep,
                    criterion_id: Annotated[str, Form(max_length=60)], decision: Annotated[str, Form(max_length=10)],
                    reason: Text, seen: SeenVersion) -> Response:
    c = ws.candidate_by_number(db, number)
    ws.decide(db, auth.user, now, c, criterion_id, decision, reason, seen=seen)
    return back(f"/candidates/{c.number}/review")


@router.post("/candidates/{number}/sign")
def sign_submit(number: str, request: Request, auth: CanSign, db: SessionDep, rt: RuntimeDep, now: NowDep,
                password: Annotated[str, Form(max_length=1024)], seen: SeenVersion) -> Response:
    c = ws.candidate_by_number(db, number)
    check_signer_password(db, rt, auth, password, request, now)
    ws.sign(db, auth.user, now, c, seen=seen)
    return back(f"/candidates/{c.number}/review")


@router.post("/candidates/{number}/enroll")
def enroll_submit(number: str, auth: CanEnroll, db: SessionDep, now: NowDep,
                  subject_id: Annotated[str, Form(max_length=40)], seen: SeenVersion) -> Response:
    c = ws.candidate_by_number(db, number)
    ws.enroll(db, auth.user, now, c, subject_id, seen=seen)
    return back(f"/candidates/{c.number}/review")


@router.post("/candidates/{number}/withdraw")
def withdraw_submit(number: str, auth: CanWrite, db: SessionDep, now: NowDep, reason: Text,
                    seen: SeenVersion) -> Response:
    c = ws.candidate_by_number(db, number)
    ws.withdraw(db, auth.user, now, c, reason, seen=seen)
    return back(f"/candidates/{c.number}")


# ---------------------------------------------------------------- audit (monitors) and users (admin)

@router.get("/audit")
def audit_page(request: Request, auth: CanAudit, db: SessionDep, entity_key: str = "", action: str = "",
               actor: str = "") -> HTMLResponse:
    rows = [api_audit.record_json(r) for r in api_audit.records(db, entity_key[:64] or None, action[:40] or None,
                                                                 actor[:64] or None)]
    return render(request, "audit.html", auth, rows=rows, check=audit.verify(db),
                  filters={"entity_key": entity_key, "action": action, "actor": actor})


@router.get("/users")
def users_page(request: Request, auth: CanManageUsers, db: SessionDep) -> HTMLResponse:
    users = list(db.execute(select(User).order_by(User.id)).scalars())
    return render(request, "users.html", auth, users=users, roles=ROLES, counts=ws.counts(db),
                  statuses=ws.STATUSES)


@router.post("/users")
def users_create(auth: CanManageUsers, db: SessionDep, rt: RuntimeDep, now: NowDep,
                 username: Annotated[str, Form(max_length=64)], role: Annotated[str, Form(max_length=20)],
                 password: Annotated[str, Form(max_length=1024)],
                 display_name: Annotated[str, Form(max_length=200)] = "") -> Response:
    create_user(db, rt.passwords, auth.user, now, username, display_name, role, password)
    return back("/users")

