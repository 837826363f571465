"""Ingestion warnings: clamped and refused implausible times, counted per day, source and reason.

Revision ID: 0013
Revises: 0002
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ingestion_warnings."""
    op.create_table(
        "ingestion_warnings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("examples", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingestion_warnings"),
        sa.UniqueConstraint("day", "source", "reason", name="uq_ingestion_warnings_day"),
    )


def downgrade() -> None:
    """Drop ingestion_warnings."""
    op.drop_table("ingestion_warnings")
