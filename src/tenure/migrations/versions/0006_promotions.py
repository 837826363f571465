"""Promotions: offers, coupon codes, checkout reservations, redemptions, customer order counts.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the promotion tables."""
    op.create_table(
        "promo_offers",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("stack_group", sa.String(64), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        _when("starts_at", nullable=True),
        _when("ends_at", nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("benefit", sa.JSON(), nullable=False),
        sa.Column("item_range", sa.JSON(), nullable=False),
        sa.Column("per_user_limit", sa.Integer(), nullable=True),
        sa.Column("total_limit", sa.Integer(), nullable=True),
        sa.Column("used_count", sa.Integer(), nullable=False),
        sa.Column("budget_minor", sa.BigInteger(), nullable=True),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("stock_used", sa.Integer(), nullable=False),
        sa.Column("returns_on_refund", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_promo_offers"),
        # The counters can never pass their limits, whatever a buggy caller does.
        sa.CheckConstraint(
            "total_limit IS NULL OR used_count <= total_limit", name="ck_promo_offers_total_limit"
        ),
        sa.CheckConstraint(
            "budget_minor IS NULL OR spent_minor <= budget_minor", name="ck_promo_offers_budget"
        ),
        sa.CheckConstraint("stock IS NULL OR stock_used <= stock", name="ck_promo_offers_stock"),
    )
    op.create_table(
        "promo_codes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("offer_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("used_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batch", sa.String(40), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_promo_codes"),
        sa.UniqueConstraint("code", name="uq_promo_codes_code"),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["promo_offers.id"], name="fk_promo_codes_offer_id_promo_offers"
        ),
        sa.CheckConstraint(
            "max_uses IS NULL OR used_count <= max_uses", name="ck_promo_codes_max_uses"
        ),
    )
    op.create_index("ix_promo_codes_offer_id", "promo_codes", ["offer_id"])
    op.create_index("ix_promo_codes_user_id", "promo_codes", ["user_id"])
    op.create_table(
        "promo_reservations",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=True),
        sa.Column("order_id", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("shipping_discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("quote", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("closed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_promo_reservations"),
        sa.UniqueConstraint("idempotency_key", name="uq_promo_reservations_idempotency_key"),
    )
    op.create_index(
        "ix_promo_reservations_status_expires", "promo_reservations", ["status", "expires_at"]
    )
    op.create_table(
        "promo_redemptions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("reservation_id", sa.String(40), nullable=False),
        sa.Column("offer_id", sa.String(40), nullable=False),
        sa.Column("code_id", _ID, nullable=True),
        sa.Column("user_id", sa.String(200), nullable=True),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_promo_redemptions"),
        sa.UniqueConstraint(
            "reservation_id", "offer_id", name="uq_promo_redemptions_reservation_offer"
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["promo_reservations.id"],
            name="fk_promo_redemptions_reservation_id_promo_reservations",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["promo_offers.id"], name="fk_promo_redemptions_offer_id_promo_offers"
        ),
        sa.ForeignKeyConstraint(
            ["code_id"], ["promo_codes.id"], name="fk_promo_redemptions_code_id_promo_codes"
        ),
    )
    op.create_index(
        "ix_promo_redemptions_offer_user", "promo_redemptions", ["offer_id", "user_id", "status"]
    )
    op.create_table(
        "promo_customers",
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("confirmed_orders", sa.Integer(), nullable=False),
        _when("first_order_at"),
        _when("last_order_at"),
        sa.PrimaryKeyConstraint("user_id", name="pk_promo_customers"),
    )


def downgrade() -> None:
    """Drop the promotion tables."""
    op.drop_table("promo_customers")
    op.drop_table("promo_redemptions")
    op.drop_table("promo_reservations")
    op.drop_table("promo_codes")
    op.drop_table("promo_offers")
