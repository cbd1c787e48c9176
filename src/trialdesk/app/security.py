"""Passwords, sessions, CSRF tokens and log-in throttling.

- Passwords: argon2id (argon2-cffi), re-hashed on log-in when the parameters change.
- Sessions: the cookie holds a random token; the database keeps only
  HMAC-SHA256(secret key, token), so a copy of the database opens no session.
  A session ends after ``idle_timeout_seconds`` without a request (counted from the last
  recorded request: the time is recorded at most once a minute, so it may end up to a minute
  early, never late), or after ``session_max_seconds`` in all.
- CSRF: every mutating request carries ``HMAC(secret key, "csrf" + token)`` in the
  ``X-CSRF-Token`` header or a ``csrf_token`` form field (synchroniser token). The
  log-in form, which has no session yet, uses a double-submit cookie.
- Throttling: after ``login_max_failures`` failed attempts for one user name (or four
  times as many from one client) within ``login_window_seconds``, log-in is refused
  (HTTP 429) until the window has passed, even with the right password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from trialdesk.app.models import LoginAttempt, User, UserSession
from trialdesk.app.settings import Settings

__all__ = ["Passwords", "SESSION_COOKIE", "LOGIN_CSRF_COOKIE", "csrf_token", "throttled", "new_session",
           "session_for"]

SESSION_COOKIE = "td_session"
LOGIN_CSRF_COOKIE = "td_login_csrf"
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often: most requests write nothing
MIN_PASSWORD_LENGTH = 12  # OWASP ASVS 4.0.3 V2.1.1 (level 1): at least 12 characters


class Passwords:
    """argon2id hashing with the configured cost."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib)
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, user: User | None, password: str) -> bool:
        """True if ``password`` is ``user``'s; spends the same time when there is no such user."""
        if user is None:
            try:
                self._hasher.verify(self._dummy, password)
            except VerificationError:
                pass
            return False
        try:
            self._hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if self._hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self._hasher.hash(password)
        return True


def _mac(settings: Settings, message: str) -> str:
    key = settings.secret_key.get_secret_value().encode()  # type: ignore[union-attr]
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def token_hash(settings: Settings, token: str) -> str:
    return _mac(settings, "session:" + token)


def csrf_token(settings: Settings, token: str) -> str:
    """The CSRF token that belongs to the session whose cookie is ``token``."""
    return _mac(settings, "csrf:" + token)


def csrf_ok(settings: Settings, token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(settings, token), presented)


def new_session(db: Session, settings: Settings, user: User, now: datetime) -> str:
    """Start a session for ``user``; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    db.add(UserSession(token_hash=token_hash(settings, token), user_id=user.id, created_at=now, last_seen_at=now))
    return token


def session_for(db: Session, settings: Settings, token: str | None, now: datetime) -> UserSession | None:
    """The live session for the cookie ``token``, touched; ends (deletes) an expired one."""
    if not token or len(token) > 100:
        return None
    session = db.execute(select(UserSession).where(UserSession.token_hash == token_hash(settings, token))
                         ).scalar_one_or_none()
    if session is None:
        return None
    idle = now - session.last_seen_at > timedelta(seconds=settings.idle_timeout_seconds)
    too_old = now - session.created_at > timedelta(seconds=settings.session_max_seconds)
    if idle or too_old or not session.user.active:
        db.delete(session)
        db.commit()
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
    return session


def end_session(db: Session, settings: Settings, token: str | None) -> None:
    if token:
        db.execute(delete(UserSession).where(UserSession.token_hash == token_hash(settings, token)))


def throttled(db: Session, settings: Settings, username: str, client: str, now: datetime) -> bool:
    """True if log-in for ``username`` or from ``client`` is refused for now."""
    since = now - timedelta(seconds=settings.login_window_seconds)
    failures = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= since,
                                                                     LoginAttempt.success.is_(False))
    by_user = db.execute(failures.where(LoginAttempt.username == username)).scalar_one()
    by_client = db.execute(failures.where(LoginAttempt.client == client)).scalar_one()
    return by_user >= settings.login_max_failures or by_client >= 4 * settings.login_max_failures


def record_attempt(db: Session, username: str, client: str, now: datetime, success: bool) -> None:
    db.add(LoginAttempt(username=username[:64], client=client[:64], at=now, success=success))
