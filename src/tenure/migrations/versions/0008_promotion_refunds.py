"""Promotions: partial refunds of a reservation's order, with the points they took back.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the refunded amount to reservations and the refunds table."""
    # A server default fills the rows that exist (SQLite cannot add a NOT NULL column without one).
    op.add_column(
        "promo_reservations",
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "promo_refunds",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("reservation_id", sa.String(40), nullable=False),
        sa.Column("refund_id", sa.String(200), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("points_reversed", sa.BigInteger(), nullable=False),
        sa.Column("points_shortfall", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_promo_refunds"),
        sa.UniqueConstraint(
            "reservation_id", "refund_id", name="uq_promo_refunds_reservation_refund"
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["promo_reservations.id"],
            name="fk_promo_refunds_reservation_id_promo_reservations",
        ),
    )


def downgrade() -> None:
    """Drop the refunds table and the refunded amount."""
    op.drop_table("promo_refunds")
    with op.batch_alter_table("promo_reservations") as batch:
        batch.drop_column("refunded_minor")
