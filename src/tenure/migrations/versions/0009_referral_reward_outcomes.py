"""Referrals: what happened to a reward when its qualifying order was refunded.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the cancellation / reversal outcome columns to referral rewards."""
    # Server defaults fill existing rows (SQLite cannot add a NOT NULL column without one).
    op.add_column("referral_rewards", sa.Column("reason", sa.String(40), nullable=True))
    op.add_column(
        "referral_rewards", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "referral_rewards",
        sa.Column("points_reversed", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "referral_rewards",
        sa.Column("points_shortfall", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("referral_rewards", sa.Column("coupon_outcome", sa.String(16), nullable=True))


def downgrade() -> None:
    """Drop the outcome columns."""
    with op.batch_alter_table("referral_rewards") as batch:
        for column in ("coupon_outcome", "points_shortfall", "points_reversed", "closed_at"):
            batch.drop_column(column)
        batch.drop_column("reason")
