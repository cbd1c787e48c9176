"""The JSON API's request and response bodies (``XBase`` / ``XCreate`` / ``XUpdate`` / ``XPublic``)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trialdesk.app.security import MIN_PASSWORD_LENGTH
from trialdesk.app.users import USERNAME

Role = Literal["coordinator", "investigator", "monitor", "admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """An error answer: ``detail`` says what is wrong and where (text, or FastAPI's list of
    located validation errors for a request that does not fit the schema)."""

    model_config = ConfigDict(extra="allow")
    detail: str | list[dict[str, Any]]


#: Documented for every API operation (any of them can meet the log-in, role, CSRF and size checks).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {status: {"model": Problem, "description": text} for status, text in (
    (400, "The request body cannot be parsed"), (401, "Not logged in, or the session ended"),
    (403, "The role may not, or a CSRF token or password is wrong"),
    (404, "No such candidate, user or record"), (409, "Not possible in the current state, or changed since read"),
    (413, "The request body is over the size limit"), (422, "Invalid input: where and why"),
    (429, "Too many failed log-ins or password entries"))}


class LoginIn(Strict):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool


class LoginOut(BaseModel):
    user: UserPublic
    csrf_token: str = Field(description="Send as the X-CSRF-Token header on every POST/PATCH")


class UserCreate(Strict):
    username: str = Field(max_length=64, pattern=USERNAME.pattern)
    display_name: str = Field("", max_length=200)
    role: Role
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class UserUpdate(Strict):
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    reason: str | None = Field(None, max_length=2000)


class CandidateBase(Strict):
    cohort: str | None = Field(None, max_length=16, description="Screen exactly this cohort (default: from diagnoses)")
    as_of: date | None = Field(None, description="Screening date (default: the day screening runs)")
    enrollment: date | None = None
    lymphodepletion: date | None = Field(None, description="A milestone only (re-checked for drift); "
                                                           "enrollment <= lymphodepletion <= infusion")
    infusion: date | None = None


class CandidateCreate(CandidateBase):
    pass


class CandidateUpdate(CandidateBase):
    reason: str | None = Field(None, max_length=2000)


class CandidatePublic(BaseModel):
    number: str
    cohort: str | None
    as_of: date | None
    enrollment: date | None
    lymphodepletion: date | None
    infusion: date | None
    status: str
    row_version: int = Field(description="Send as If-Match with a change (optimistic locking)")


class LabIn(Strict):
    measure: str = Field(description="A numeric measure of the protocol, e.g. ast, alt, lvef (GET /api/protocol)")
    value: float
    unit: str = Field(max_length=40)
    date: date
    reference_high: float | None = None


class DecisionIn(Strict):
    criterion_id: str = Field(max_length=60)
    decision: Literal["pass", "fail"]
    reason: str = Field(min_length=1, max_length=2000)


class SignIn(Strict):
    password: str = Field(max_length=1024, description="The signer's password, entered again")


class EnrollIn(Strict):
    subject_id: str = Field(min_length=1, max_length=40)


class WithdrawIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class AuditRecordPublic(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    history_type: str
    entity_type: str
    entity_key: str
    old: Any
    new: Any
    reason: str | None
    hash: str
