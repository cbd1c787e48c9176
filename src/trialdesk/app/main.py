"""The FastAPI application: ``create_app(settings)``.

Routes are thin (one router per resource in ``routes/``): they parse, call
:mod:`trialdesk.app.workspace` / :mod:`trialdesk.app.users`, and return JSON or a page.
"""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import AsyncIterator, Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trialdesk.app.db import current_revision, head_revision, make_engine, session_factory, upgrade
from trialdesk.app.deps import Runtime
from trialdesk.app.errors import AppError, Invalid, NotAuthenticated
from trialdesk.app.followup_records import FollowupRefused
from trialdesk.app.protocol_versions import ActiveProtocol, ProtocolRefused, ensure_initial
from trialdesk.app.schemas import ERROR_RESPONSES
from trialdesk.app.security import Passwords
from trialdesk.app.settings import Settings, SettingsError
from trialdesk.app.workspace import ENGINE_VERSION
from trialdesk.protocol.load import default_path, load
from trialdesk.protocol.model import Protocol
from trialdesk.site import load_reference_intervals

__all__ = ["create_app", "routes"]

HERE = Path(__file__).parent


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class BodyLimit:
    """Refuse (413) a request body over ``limit`` bytes, announced or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
        body, sent = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": f"the request body is over the limit of {self.limit} bytes"}, 413)
        await response(scope, receive, send)


def _security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith(("/docs", "/redoc")):
            response.headers.setdefault("Content-Security-Policy",
                                        "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


@lru_cache(maxsize=8)
def _protocol(folder: Path | None) -> Protocol:
    """Protocols are frozen, so apps in one process share a loaded one."""
    return load(folder)


def routers() -> list[tuple[str, APIRouter]]:
    """The application's routers with their prefixes (JSON API first, then pages)."""
    from trialdesk.app.routes import (api_audit, api_auth, api_candidates, api_followup, api_forms, api_milestones,
                                      api_protocol, api_screening_log, api_users, pages, pages_followup, pages_forms,
                                      pages_milestones, pages_protocol)

    return ([("/api", m.router) for m in (api_auth, api_users, api_candidates, api_forms, api_milestones,
                                          api_screening_log, api_audit, api_protocol, api_followup)]
            + [("", m.router) for m in (pages, pages_forms, pages_milestones, pages_protocol, pages_followup)])


def routes() -> list[tuple[str, str, str | None]]:
    """Every (method, path, permission) the application serves; ``None``: open to anyone."""
    out = []
    for prefix, router in routers():
        for route in router.routes:
            if isinstance(route, APIRoute):
                permission = _permission(route.dependant)
                out.extend((method, prefix + route.path, permission) for method in sorted(route.methods))
    return out


def _permission(dependant) -> str | None:  # type: ignore[no-untyped-def]
    for d in dependant.dependencies:
        found = getattr(d.call, "permission", None) or _permission(d)
        if found:
            return found
    return None


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At server start: move the long-lived objects (protocol, engine, app) out of the garbage
    collector's reach. Otherwise every full collection traverses them, and a request that decodes
    many screening results (the screening log) spent most of its time in the collector (measured:
    0.27 ms instead of 0.05 ms per result). Not run by tests that use the app without a server."""
    gc.collect()
    gc.freeze()
    yield


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The application for ``settings`` (default: from ``TRIALDESK_*`` variables).

    Runs the database migrations first (unless ``settings.run_migrations`` is false).

    Raises:
        SettingsError: no secret key outside demo mode; a configured protocol that fails lint; an
            unmigrated database when migrations are off.
    """
    settings = (settings or Settings()).checked()
    engine = make_engine(settings.database_url)
    if settings.run_migrations:
        upgrade(engine)
    elif current_revision(engine) != head_revision():
        raise SettingsError(f"the database schema is at revision {current_revision(engine)}, not "
                            f"{head_revision()}: start once with migrations (TRIALDESK_RUN_MIGRATIONS=true)")
    protocol = _protocol(settings.protocol_dir)
    intervals = load_reference_intervals(settings.reference_intervals) if settings.reference_intervals else None
    clock = clock or utcnow
    sessions = session_factory(engine)
    protocols = ActiveProtocol(sessions, intervals)
    protocols.seed(protocol)
    try:
        with sessions() as db:  # the configured protocol is the initial version of a new site
            ensure_initial(db, protocol, settings.protocol_dir or default_path(), clock())
    except ProtocolRefused as exc:
        raise SettingsError(f"the configured protocol cannot be the site's initial version: {exc.message}") from None
    runtime = Runtime(settings=settings, sessions=sessions, passwords=Passwords(settings), protocols=protocols,
                      clock=clock)

    app = FastAPI(title="trialdesk site application", version=ENGINE_VERSION, lifespan=_lifespan,
                  description="Screening workspace, investigator review and e-signature, screening log and "
                              "hash-chained audit trail for the CAR-NK trial. JSON API under /api; "
                              "log in with POST /api/auth/login and send X-CSRF-Token on every POST/PATCH.")
    app.state.runtime = runtime
    app.state.db_engine = engine

    from trialdesk.app.routes import pages

    for prefix, router in routers():
        app.include_router(router, prefix=prefix, responses=ERROR_RESPONSES if prefix == "/api" else None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError):  # type: ignore[no-untyped-def]
        if request.url.path.startswith("/api"):
            problems = {"problems": exc.problems} if isinstance(exc, ProtocolRefused) else {}
            located = exc.body if isinstance(exc, FollowupRefused) else {}  # where and why
            return JSONResponse({"detail": exc.message, **problems, **located}, exc.status_code)
        if isinstance(exc, NotAuthenticated):
            return RedirectResponse("/login", 303)
        return pages.error_page(request, exc.status_code, exc.message)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):  # type: ignore[no-untyped-def]
        """A value the database cannot store (PostgreSQL: a NUL character in text, a string longer
        than its column, a number out of range): the request is refused (422), nothing is written."""
        why = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid data"
        auth = getattr(request.state, "auth", None)
        if auth is not None:  # the failed commit expired the user, whom an error page shows
            with runtime.sessions() as db:
                db.add(auth.user)
                db.refresh(auth.user)
        return await app_error(request, Invalid(f"a value cannot be stored: {why}"))

    _security_headers(app)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    return app
