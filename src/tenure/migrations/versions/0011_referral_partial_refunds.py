"""Referrals: the qualifying order's amount and how much of it was refunded so far.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add referrals.order_amount_minor and referrals.order_refunded_minor (null on old rows)."""
    op.add_column("referrals", sa.Column("order_amount_minor", sa.BigInteger(), nullable=True))
    op.add_column("referrals", sa.Column("order_refunded_minor", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("order_refunded_minor")
        batch.drop_column("order_amount_minor")
