"""Protocol versions loaded into the site (amendments): id, version, sha256, the folder's files,
who loaded and activated it and when; at most one active (a partial unique index).

The initial version (the configured protocol) is inserted by the application at start-up, not
here: a migration must not depend on protocol files that later releases change.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

from trialdesk.app.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "protocol_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("protocol_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("loaded_at", UTCDateTime, nullable=False),
        sa.Column("loaded_by", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("activated_at", UTCDateTime),
        sa.Column("activated_by", sa.Integer, sa.ForeignKey("users.id")),
        sa.UniqueConstraint("protocol_id", "version"),
    )
    op.create_index("ix_protocol_versions_one_active", "protocol_versions", ["active"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))


def downgrade() -> None:
    op.drop_index("ix_protocol_versions_one_active", table_name="protocol_versions")
    op.drop_table("protocol_versions")
