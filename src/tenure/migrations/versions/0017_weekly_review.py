"""Weekly review: what the weekly review job sent, one row per (operator, week).

Revision ID: 0017
Revises: 0001
Depends on: 0016 (the operators table it points at)
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0001"
branch_labels = None
depends_on = "0016"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create weekly_review_sends."""
    op.create_table(
        "weekly_review_sends",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_weekly_review_sends_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operator_id", "week", name=op.f("pk_weekly_review_sends")),
    )


def downgrade() -> None:
    """Drop weekly_review_sends."""
    op.drop_table("weekly_review_sends")
