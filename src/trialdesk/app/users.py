"""Users, roles, log-in and log-out; every one of these is an audit record."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.app import audit
from trialdesk.app.errors import Conflict, Invalid, NotAuthenticated, Throttled
from trialdesk.app.models import ROLES, User
from trialdesk.app.security import (MIN_PASSWORD_LENGTH, Passwords, end_session, new_session, record_attempt,
                                    throttled)
from trialdesk.app.settings import Settings

__all__ = ["create_user", "login", "logout", "update_user", "user_public"]

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def user_public(u: User) -> dict:
    return {"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role, "active": u.active}


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise Invalid("the password is too long")


def create_user(db: Session, passwords: Passwords, actor: User | None, now: datetime, username: str,
                display_name: str, role: str, password: str, actor_name: str = "system") -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise Invalid("a user name is 2 to 64 of a-z, 0-9, '.', '_', '-'")
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    display_name = display_name.strip()[:200] or username
    _check_password(password)
    if db.execute(select(User).where(User.username == username)).scalar_one_or_none() is not None:
        raise Conflict(f"user {username} exists")
    u = User(username=username, display_name=display_name, role=role, password_hash=passwords.hash(password),
             active=True, created_at=now)
    db.add(u)
    db.flush()
    audit.append(db, at=now, actor=actor, actor_name=actor_name, action="create", history_type="+",
                 entity_type="user", entity_key=username,
                 new={"username": username, "display_name": display_name, "role": role, "active": True})
    db.commit()
    return u


def update_user(db: Session, passwords: Passwords, actor: User, now: datetime, u: User, role: str | None = None,
                active: bool | None = None, password: str | None = None, reason: str | None = None) -> User:
    before = {"role": u.role, "active": u.active}
    if role is not None:
        if role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}")
        u.role = role
    if active is not None:
        if u.id == actor.id and not active:
            raise Conflict("you cannot deactivate yourself")
        u.active = active
    old, new = audit.delta(before, {"role": u.role, "active": u.active})
    if password is not None:
        _check_password(password)
        u.password_hash = passwords.hash(password)
        old["password"], new["password"] = "(hidden)", "(reset)"
    if new:
        audit.append(db, at=now, actor=actor, action="change", history_type="~", entity_type="user",
                     entity_key=u.username, old=old, new=new, reason=reason)
    db.commit()
    return u


def login(db: Session, settings: Settings, passwords: Passwords, username: str, password: str, client: str,
          now: datetime) -> tuple[User, str]:
    """Check the credentials; returns the user and a new session token.

    Raises:
        Throttled: too many recent failures for this user name or client.
        NotAuthenticated: wrong user name or password, or an inactive user.
    """
    username = (username or "").strip().lower()[:64]
    if throttled(db, settings, username, client, now):
        audit.append(db, at=now, actor=None, actor_name=username or "-", action="login_refused", history_type="=",
                     entity_type="user", entity_key=username or "-", reason="too many failed log-ins")
        db.commit()
        raise Throttled("too many failed log-ins: try again later")
    user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    password_ok = passwords.verify(user, password or "")
    ok = password_ok and user is not None and user.active
    record_attempt(db, username, client, now, ok)
    if not ok:
        audit.append(db, at=now, actor=None, actor_name=username or "-", action="login_failed", history_type="=",
                     entity_type="user", entity_key=username or "-",
                     reason="inactive user" if password_ok else "wrong user name or password")
        db.commit()
        raise NotAuthenticated("wrong user name or password")
    assert user is not None
    token = new_session(db, settings, user, now)
    audit.append(db, at=now, actor=user, action="login", history_type="=", entity_type="user",
                 entity_key=user.username)
    db.commit()
    return user, token


def logout(db: Session, settings: Settings, user: User, token: str | None, now: datetime) -> None:
    end_session(db, settings, token)
    audit.append(db, at=now, actor=user, action="logout", history_type="=", entity_type="user",
                 entity_key=user.username)
    db.commit()
