"""Request dependencies as ``Annotated`` aliases: the runtime, a database session, the clock,
and :func:`allowed`, which authenticates, authorises and checks CSRF in one place.

Who may do what is one table, :data:`PERMISSIONS`; the authorization matrix test checks
every route against it for every role and for no log-in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Callable, Iterator

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from trialdesk.app.errors import Invalid, NotAuthenticated, PermissionDenied
from trialdesk.app.models import User
from trialdesk.app.protocol_versions import ActiveProtocol
from trialdesk.app.security import SESSION_COOKIE, Passwords, csrf_ok, csrf_token, session_for
from trialdesk.app.settings import Settings
from trialdesk.app.workspace import Engine

__all__ = ["PERMISSIONS", "Auth", "CanAmend", "CanAssess", "CanAttest", "CanAudit", "CanCount", "CanDecide", "CanEnroll",
           "CanManageUsers", "CanRead", "CanReadFollowup", "CanWriteFollowup",
           "CanSelf", "CanSign", "CanWrite", "NowDep", "Runtime", "RuntimeDep", "SeenVersion", "SessionDep", "allowed",
           "seen_version"]

ALL = frozenset({"coordinator", "investigator", "monitor", "admin"})
PERMISSIONS: dict[str, frozenset[str]] = {
    "self": ALL,                                                     # own session, protocol summary
    "counts:read": ALL,                                              # numbers only, no patient data
    "candidates:read": frozenset({"coordinator", "investigator", "monitor"}),
    "candidates:write": frozenset({"coordinator", "investigator"}),  # create, import, enter data, screen
    "review:decide": frozenset({"investigator"}),
    "attest": frozenset({"investigator"}),                           # attestations entered by form
    "sign": frozenset({"investigator"}),
    "enroll": frozenset({"investigator"}),
    "audit:read": frozenset({"monitor"}),
    "users:manage": frozenset({"admin"}),
    "protocol:amend": frozenset({"investigator"}),                   # load, preview and apply a protocol version
    "followup:read": frozenset({"coordinator", "investigator", "monitor"}),  # schedule, endpoints, figures, exports
    "followup:write": frozenset({"coordinator", "investigator"}),    # import, dosing, visits, CRS/ICANS, con-meds
    "followup:assess": frozenset({"investigator"}),                  # adverse events, PGA, BILAG
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Runtime:
    """What every request shares: settings, database, password hasher, protocol versions, clock."""

    settings: Settings
    sessions: sessionmaker
    passwords: Passwords
    protocols: ActiveProtocol
    clock: Callable[[], datetime]
    pinned: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The screening engine with the site's active protocol version: the one resolved for the
        request (see :func:`get_runtime`), else looked up on each use."""
        return self.pinned or self.protocols.engine()


def get_runtime(request: Request) -> Runtime:
    """The runtime with the active protocol version resolved once for this request.

    A sync dependency, so FastAPI runs it in a worker thread: the database look-up never blocks
    the event loop, and the whole request screens with one version.
    """
    rt: Runtime = request.app.state.runtime
    return replace(rt, pinned=rt.protocols.engine())


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_db(rt: RuntimeDep) -> Iterator[Session]:
    with rt.sessions() as db:
        yield db


SessionDep = Annotated[Session, Depends(get_db)]


def get_now(rt: RuntimeDep) -> datetime:
    return rt.clock()


NowDep = Annotated[datetime, Depends(get_now)]

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def seen_version(request: Request, if_match: Annotated[str | None, Header(
        alias="If-Match", max_length=40, description="The candidate's row_version as last read (optimistic locking): "
                                                     "a change made since gets 409 instead of overwriting it")] = None,
) -> int | None:
    """The candidate version the client saw: ``If-Match`` (API) or the ``row_version`` form field (pages).

    ``None`` when neither is sent. See :func:`trialdesk.app.workspace.claim`.

    Raises:
        Invalid: the value is not a version number.
    """
    value: object = if_match
    if value is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get("row_version") or None
    if value is None:
        return None
    text = str(value).strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise Invalid(f"If-Match / row_version: {str(value)[:40]!r} is not a row version (a whole number)")
    return int(text)


SeenVersion = Annotated[int | None, Depends(seen_version)]


@dataclass
class Auth:
    """The logged-in user, the session's cookie token and its CSRF token."""

    user: User
    token: str
    csrf: str


def current_auth(request: Request, db: Session, rt: Runtime, now: datetime) -> Auth | None:
    token = request.cookies.get(SESSION_COOKIE)
    session = session_for(db, rt.settings, token, now)
    if session is None or token is None:
        return None
    db.commit()  # keep the touched last_seen_at
    return Auth(session.user, token, csrf_token(rt.settings, token))


async def _presented_csrf(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def allowed(permission: str) -> Callable:
    """A dependency: the request's :class:`Auth` if its role has ``permission``.

    Mutating methods must also present the session's CSRF token (header ``X-CSRF-Token``
    or form field ``csrf_token``).

    Raises:
        NotAuthenticated: no live session (expired, idle, or never logged in).
        PermissionDenied: the role lacks the permission, or the CSRF token is missing or wrong.
    """
    roles = PERMISSIONS[permission]

    async def dependency(request: Request, db: SessionDep, rt: RuntimeDep, now: NowDep) -> Auth:
        # in a worker thread: blocking database calls on the event loop stall every request (bench-load)
        auth = await run_in_threadpool(current_auth, request, db, rt, now)
        if auth is None:
            raise NotAuthenticated("log in first")
        request.state.auth = auth  # pages show the user's menu on error pages too
        if auth.user.role not in roles:
            raise PermissionDenied(f"the {auth.user.role} role may not do this")
        if request.method not in SAFE_METHODS and not csrf_ok(rt.settings, auth.token, await _presented_csrf(request)):
            raise PermissionDenied("missing or wrong CSRF token")
        return auth

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the authorization matrix test
    return dependency


CanSelf = Annotated[Auth, Depends(allowed("self"))]
CanCount = Annotated[Auth, Depends(allowed("counts:read"))]
CanRead = Annotated[Auth, Depends(allowed("candidates:read"))]
CanWrite = Annotated[Auth, Depends(allowed("candidates:write"))]
CanDecide = Annotated[Auth, Depends(allowed("review:decide"))]
CanAttest = Annotated[Auth, Depends(allowed("attest"))]
CanSign = Annotated[Auth, Depends(allowed("sign"))]
CanEnroll = Annotated[Auth, Depends(allowed("enroll"))]
CanAudit = Annotated[Auth, Depends(allowed("audit:read"))]
CanManageUsers = Annotated[Auth, Depends(allowed("users:manage"))]
CanAmend = Annotated[Auth, Depends(allowed("protocol:amend"))]
CanReadFollowup = Annotated[Auth, Depends(allowed("followup:read"))]
CanWriteFollowup = Annotated[Auth, Depends(allowed("followup:write"))]
CanAssess = Annotated[Auth, Depends(allowed("followup:assess"))]
