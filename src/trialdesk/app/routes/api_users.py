"""User management (admin)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from trialdesk.app.deps import CanManageUsers, NowDep, RuntimeDep, SessionDep
from trialdesk.app.errors import NotFound
from trialdesk.app.models import User
from trialdesk.app.schemas import UserCreate, UserPublic, UserUpdate
from trialdesk.app.users import create_user, update_user, user_public

router = APIRouter(tags=["users"])


@router.get("/users", response_model=list[UserPublic])
def list_users(auth: CanManageUsers, db: SessionDep) -> list[dict]:
    return [user_public(u) for u in db.execute(select(User).order_by(User.id)).scalars()]


@router.post("/users", response_model=UserPublic, status_code=201)
def add_user(body: UserCreate, auth: CanManageUsers, db: SessionDep, rt: RuntimeDep, now: NowDep) -> dict:
    return user_public(create_user(db, rt.passwords, auth.user, now, body.username, body.display_name, body.role,
                                   body.password))


@router.patch("/users/{username}", response_model=UserPublic)
def change_user(username: str, body: UserUpdate, auth: CanManageUsers, db: SessionDep, rt: RuntimeDep,
                now: NowDep) -> dict:
    u = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if u is None:
        raise NotFound(f"no user {username}")
    return user_public(update_user(db, rt.passwords, auth.user, now, u, role=body.role, active=body.active,
                                   password=body.password, reason=body.reason))
