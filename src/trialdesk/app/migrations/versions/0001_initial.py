"""Initial schema: users, sessions, candidates, data, screenings, decisions, signatures, audit.

The audit table is append-only in the database too: triggers refuse UPDATE and DELETE
(SQLite and PostgreSQL). Someone who can drop a trigger can still edit a row; the hash
chain is what detects that (``trialdesk audit verify``).

Revision ID: 0001
Revises:
Create Date: 2026-03-02
"""
from alembic import op
import sqlalchemy as sa

from trialdesk.app.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("role in ('coordinator', 'investigator', 'monitor', 'admin')", name="ck_users_role"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("client", sa.String(64), nullable=False, index=True),
        sa.Column("at", UTCDateTime, nullable=False, index=True),
        sa.Column("success", sa.Boolean, nullable=False),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("cohort", sa.String(16)),
        sa.Column("as_of", sa.Date),
        sa.Column("enrollment", sa.Date),
        sa.Column("infusion", sa.Date),
        sa.Column("disposition", sa.String(20)),
        sa.Column("subject_id", sa.String(40)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    )
    op.create_table(
        "data_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.UniqueConstraint("candidate_id", "version"),
    )
    op.create_table(
        "screenings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False, index=True),
        sa.Column("data_version_id", sa.Integer, sa.ForeignKey("data_versions.id"), nullable=False),
        sa.Column("cohort", sa.String(16)),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("enrollment", sa.Date),
        sa.Column("infusion", sa.Date),
        sa.Column("overall", sa.String(20), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("protocol_version", sa.String(40), nullable=False),
        sa.Column("protocol_sha256", sa.String(64), nullable=False),
        sa.Column("engine_version", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    )
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False, index=True),
        sa.Column("screening_id", sa.Integer, sa.ForeignKey("screenings.id"), nullable=False),
        sa.Column("criterion_id", sa.String(60), nullable=False),
        sa.Column("item_sha256", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("decision in ('pass', 'fail')", name="ck_review_decisions_decision"),
    )
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False, index=True),
        sa.Column("screening_id", sa.Integer, sa.ForeignKey("screenings.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("signed_at", UTCDateTime, nullable=False),
        sa.Column("cohort", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("meaning", sa.Text, nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.Column("snapshot_sha256", sa.String(64), nullable=False),
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("protocol_version", sa.String(40), nullable=False),
        sa.Column("protocol_sha256", sa.String(64), nullable=False),
        sa.Column("engine_version", sa.String(40), nullable=False),
        sa.Column("bound_sha256", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.Integer),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False, index=True),
        sa.Column("history_type", sa.String(1), nullable=False),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("entity_key", sa.String(64), nullable=False, index=True),
        sa.Column("old", sa.Text),
        sa.Column("new", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_records_no_{event.lower()} BEFORE {event} ON audit_records "
                       "BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END")
    elif dialect == "postgresql":
        op.execute("CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'audit_records is append-only'; END $$")
        op.execute("CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records "
                   "FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records")
        op.execute("DROP FUNCTION IF EXISTS audit_records_append_only()")
    for table in ("audit_records", "audit_head", "signatures", "review_decisions", "screenings", "data_versions",
                  "candidates", "login_attempts", "sessions", "users"):
        op.drop_table(table)
