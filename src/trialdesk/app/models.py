"""The database tables (SQLAlchemy 2). The schema itself is created by the Alembic
migrations in ``trialdesk/app/migrations``; a test checks that both agree.

Patient data live in two places only: ``data_versions.content`` (the FHIR bundle as
imported or edited) and ``screenings.result`` (the engine's JSON, which quotes it).
Everything else refers to a candidate by its pseudonymous screening number.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator,
                        UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["AuditHead", "AuditRecord", "Base", "Candidate", "DataVersion", "FollowupVersion", "LoginAttempt",
           "ProtocolVersion",
           "ReviewDecision", "ROLES", "Screening", "Signature", "UserSession", "User"]

ROLES = ("coordinator", "investigator", "monitor", "admin")


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime, stored naive in UTC (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: trialdesk stores aware UTC datetimes only")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A log-in: the cookie holds a random token; only its keyed hash is stored."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """One log-in attempt, kept for throttling (by user name and by client address)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class Candidate(Base):
    """A person being screened, known to the application by a pseudonymous screening number."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    cohort: Mapped[str | None] = mapped_column(String(16))
    as_of: Mapped[date | None] = mapped_column(Date)
    enrollment: Mapped[date | None] = mapped_column(Date)
    infusion: Mapped[date | None] = mapped_column(Date)
    lymphodepletion: Mapped[date | None] = mapped_column(Date)
    row_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    disposition: Mapped[str | None] = mapped_column(String(20))  # enrolled | withdrawn
    subject_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class DataVersion(Base):
    """One version of a candidate's data: the whole FHIR bundle, as imported or edited."""

    __tablename__ = "data_versions"
    __table_args__ = (UniqueConstraint("candidate_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # upload | form
    content: Mapped[str] = mapped_column(Text, deferred=True)  # loaded on first use: lists never need it
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class FollowupVersion(Base):
    """One version of an enrolled subject's follow-up record (docs/followup.md, one subject).

    ``content`` is the canonical JSON of the subject's mapping in the follow-up file format,
    checked by :func:`trialdesk.followup.read.parse_followup` before it is stored. Rows are
    never updated: every change is the next version.
    """

    __tablename__ = "followup_versions"
    __table_args__ = (UniqueConstraint("candidate_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # import | form
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Screening(Base):
    """One run of the engine on one data version: the result snapshot and what produced it."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    data_version_id: Mapped[int] = mapped_column(ForeignKey("data_versions.id"))
    cohort: Mapped[str | None] = mapped_column(String(16))
    as_of: Mapped[date] = mapped_column(Date)
    enrollment: Mapped[date | None] = mapped_column(Date)
    infusion: Mapped[date | None] = mapped_column(Date)
    overall: Mapped[str] = mapped_column(String(20))
    result: Mapped[str] = mapped_column(Text)
    protocol_id: Mapped[str] = mapped_column(String(100))
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))

    data_version: Mapped[DataVersion] = relationship()


class ReviewDecision(Base):
    """An investigator's decision on one ``review`` item.

    It applies while the item is unchanged: ``item_sha256`` hashes the criterion's result
    (outcome, reason, evidence) it was made on. Rows are never updated; a new decision is
    a new row.
    """

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"))
    criterion_id: Mapped[str] = mapped_column(String(60))
    item_sha256: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(10))  # pass | fail
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Signature(Base):
    """An electronic signature: who, when, meaning, bound to the hash of what was signed."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cohort: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(20))  # eligible | ineligible
    meaning: Mapped[str] = mapped_column(Text)
    snapshot: Mapped[str] = mapped_column(Text)  # the canonical JSON that snapshot_sha256 hashes
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    protocol_id: Mapped[str] = mapped_column(String(100))
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(40))
    bound_sha256: Mapped[str] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class ProtocolVersion(Base):
    """A protocol version loaded into the site, with its files, so a restart screens with it.

    ``files`` is the canonical JSON ``{relative path: text}`` of the protocol folder;
    ``sha256`` is the loader's hash of that folder (checked again whenever it is read back).
    At most one row is ``active`` (a partial unique index): the version the site screens with.
    """

    __tablename__ = "protocol_versions"
    __table_args__ = (UniqueConstraint("protocol_id", "version"),
                      Index("ix_protocol_versions_one_active", "active", unique=True,
                            sqlite_where=text("active"), postgresql_where=text("active")))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    files: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the initial version, at start-up
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AuditHead(Base):
    """The single row holding the chain's last sequence number and hash.

    Appending updates it first, which serialises writers on both SQLite and PostgreSQL.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditRecord(Base):
    """One append-only audit record; ``hash`` covers every field and ``prev_hash``.

    ``at`` is kept as the ISO text that was hashed, so no database's datetime
    round trip can change it. ``history_type``: ``+`` created, ``~`` changed,
    ``-`` removed or invalidated, ``=`` an event without a change (log-in, export).
    """

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40), index=True)
    history_type: Mapped[str] = mapped_column(String(1))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str] = mapped_column(String(64), index=True)
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
