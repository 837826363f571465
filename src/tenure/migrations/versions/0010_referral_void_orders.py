"""Referrals: orders that stopped qualifying (refunded inside the return window).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create referral_void_orders, so that a repeated refund of such an order is a replay."""
    op.create_table(
        "referral_void_orders",
        sa.Column("order_id", sa.String(200), primary_key=True),
        sa.Column("referral_id", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop referral_void_orders."""
    op.drop_table("referral_void_orders")
