"""Loyalty: program versions, accounts, points ledger, tiers, check-ins, tasks, memberships.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the loyalty tables."""
    op.create_table(
        "loyalty_accounts",
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tier", sa.String(length=40), nullable=True),
        sa.Column("tier_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tier_grace_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="pk_loyalty_accounts"),
    )
    op.create_table(
        "loyalty_memberships",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("plan", sa.String(length=60), nullable=False),
        sa.Column("payment_ref", sa.String(length=250), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_memberships"),
        sa.UniqueConstraint("payment_ref", name="uq_loyalty_memberships_payment_ref"),
    )
    op.create_index(
        "ix_loyalty_memberships_user_expires",
        "loyalty_memberships",
        ["user_id", "expires_at"],
        unique=False,
    )
    op.create_table(
        "loyalty_orders",
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("points_earned", sa.BigInteger(), nullable=False),
        sa.Column("multiplier_bps", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_loyalty_orders"),
    )
    op.create_index(
        "ix_loyalty_orders_user_paid", "loyalty_orders", ["user_id", "paid_at"], unique=False
    )
    op.create_table(
        "loyalty_programs",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_loyalty_programs"),
    )
    op.create_table(
        "loyalty_rewards",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("points_cost", sa.BigInteger(), nullable=False),
        sa.Column("coupon_template", sa.String(length=200), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_loyalty_rewards"),
    )
    op.create_table(
        "loyalty_tier_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("from_tier", sa.String(length=40), nullable=True),
        sa.Column("to_tier", sa.String(length=40), nullable=True),
        sa.Column("qualifying_value", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_tier_events"),
    )
    op.create_index(
        "ix_loyalty_tier_events_user_id", "loyalty_tier_events", ["user_id"], unique=False
    )
    op.create_table(
        "loyalty_transactions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("available_delta", sa.BigInteger(), nullable=False),
        sa.Column("pending_delta", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
        sa.Column("shortfall", sa.BigInteger(), nullable=False),
        sa.Column("available_after", sa.BigInteger(), nullable=False),
        sa.Column("pending_after", sa.BigInteger(), nullable=False),
        sa.Column("reserved_after", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=250), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_transactions"),
        sa.UniqueConstraint("idempotency_key", name="uq_loyalty_transactions_idempotency_key"),
    )
    op.create_index(
        "ix_loyalty_transactions_user_kind",
        "loyalty_transactions",
        ["user_id", "kind", "created_at"],
        unique=False,
    )
    op.create_table(
        "loyalty_checkins",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["loyalty_transactions.id"],
            name="fk_loyalty_checkins_transaction_id_loyalty_transactions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_checkins"),
        sa.UniqueConstraint("user_id", "local_date", name="uq_loyalty_checkins_day"),
    )
    op.create_table(
        "loyalty_lots",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirm_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["loyalty_transactions.id"],
            name="fk_loyalty_lots_transaction_id_loyalty_transactions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_lots"),
    )
    op.create_index("ix_loyalty_lots_order_id", "loyalty_lots", ["order_id"], unique=False)
    op.create_index(
        "ix_loyalty_lots_user_expires", "loyalty_lots", ["user_id", "expires_at"], unique=False
    )
    op.create_table(
        "loyalty_redemptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("order_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("idempotency_key", sa.String(length=250), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["loyalty_transactions.id"],
            name="fk_loyalty_redemptions_transaction_id_loyalty_transactions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_redemptions"),
        sa.UniqueConstraint("idempotency_key", name="uq_loyalty_redemptions_idempotency_key"),
    )
    op.create_index(
        "ix_loyalty_redemptions_status",
        "loyalty_redemptions",
        ["status", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_loyalty_redemptions_user_id", "loyalty_redemptions", ["user_id"], unique=False
    )
    op.create_table(
        "loyalty_reward_claims",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("reward_code", sa.String(length=60), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("coupon_code", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reward_code"],
            ["loyalty_rewards.code"],
            name="fk_loyalty_reward_claims_reward_code_loyalty_rewards",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["loyalty_transactions.id"],
            name="fk_loyalty_reward_claims_transaction_id_loyalty_transactions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_reward_claims"),
        sa.UniqueConstraint("transaction_id", name="uq_loyalty_reward_claims_transaction_id"),
    )
    op.create_index(
        "ix_loyalty_reward_claims_user_id", "loyalty_reward_claims", ["user_id"], unique=False
    )
    op.create_table(
        "loyalty_task_completions",
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("task", sa.String(length=60), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["loyalty_transactions.id"],
            name="fk_loyalty_task_completions_transaction_id_loyalty_transactions",
        ),
        sa.PrimaryKeyConstraint("user_id", "task", name="pk_loyalty_task_completions"),
    )
    op.create_table(
        "loyalty_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("lot_id", sa.String(length=40), nullable=False),
        sa.Column("bucket", sa.String(length=10), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["loyalty_lots.id"], name="fk_loyalty_entries_lot_id_loyalty_lots"
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["loyalty_transactions.id"],
            name="fk_loyalty_entries_transaction_id_loyalty_transactions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_entries"),
    )
    op.create_index("ix_loyalty_entries_lot", "loyalty_entries", ["lot_id", "bucket"], unique=False)
    op.create_index(
        "ix_loyalty_entries_transaction_id", "loyalty_entries", ["transaction_id"], unique=False
    )
    op.create_index(
        "ix_loyalty_entries_user_bucket", "loyalty_entries", ["user_id", "bucket"], unique=False
    )
    op.create_table(
        "loyalty_expiry_notices",
        sa.Column("lot_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["loyalty_lots.id"], name="fk_loyalty_expiry_notices_lot_id_loyalty_lots"
        ),
        sa.PrimaryKeyConstraint("lot_id", name="pk_loyalty_expiry_notices"),
    )
    op.create_index(
        "ix_loyalty_expiry_notices_created_at",
        "loyalty_expiry_notices",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        "ix_loyalty_expiry_notices_user_id", "loyalty_expiry_notices", ["user_id"], unique=False
    )


def downgrade() -> None:
    """Drop the loyalty tables."""
    op.drop_table("loyalty_expiry_notices")
    op.drop_table("loyalty_entries")
    op.drop_table("loyalty_task_completions")
    op.drop_table("loyalty_reward_claims")
    op.drop_table("loyalty_redemptions")
    op.drop_table("loyalty_lots")
    op.drop_table("loyalty_checkins")
    op.drop_table("loyalty_transactions")
    op.drop_table("loyalty_tier_events")
    op.drop_table("loyalty_rewards")
    op.drop_table("loyalty_programs")
    op.drop_table("loyalty_orders")
    op.drop_table("loyalty_memberships")
    op.drop_table("loyalty_accounts")
