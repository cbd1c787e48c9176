"""Candidates get a lymphodepletion date (milestone re-checks) and a row version
(optimistic locking: a change names the version it was made on).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("lymphodepletion", sa.Date, nullable=True))
        batch.add_column(sa.Column("row_version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("row_version")
        batch.drop_column("lymphodepletion")
