"""Referrals and group buying.

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def upgrade() -> None:
    """Create the referral and group-buy tables."""
    op.create_table(
        "referral_config",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referral_config"),
    )
    op.create_table(
        "referral_codes",
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("disabled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("code", name="pk_referral_codes"),
        sa.UniqueConstraint("user_id", name="uq_referral_codes_user_id"),
    )
    op.create_table(
        "referral_fingerprints",
        _id(),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value_hash", sa.String(64), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referral_fingerprints"),
        sa.UniqueConstraint("user_id", "kind", "value_hash", name="uq_referral_fingerprints_seen"),
    )
    op.create_index(
        "ix_referral_fingerprints_match", "referral_fingerprints", ["kind", "value_hash"]
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("referrer_id", sa.String(200), nullable=False),
        sa.Column("invitee_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attributed_at", TS, nullable=False),
        sa.Column("order_id", sa.String(200), nullable=True),
        sa.Column("order_paid_at", TS, nullable=True),
        sa.Column("confirm_at", TS, nullable=True),
        sa.Column("hold_reasons", sa.String(200), nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_referrals"),
        sa.UniqueConstraint("invitee_id", name="uq_referrals_invitee_id"),
    )
    op.create_index("ix_referrals_referrer", "referrals", ["referrer_id", "attributed_at"])
    op.create_index("ix_referrals_due", "referrals", ["status", "confirm_at"])
    op.create_table(
        "referral_decisions",
        _id(),
        sa.Column("referral_id", sa.String(40), nullable=True),
        sa.Column("referrer_id", sa.String(200), nullable=False),
        sa.Column("invitee_id", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referral_decisions"),
    )
    op.create_index(
        "ix_referral_decisions_referrer", "referral_decisions", ["referrer_id", "created_at"]
    )
    op.create_table(
        "referral_rewards",
        _id(),
        sa.Column("referral_id", sa.String(40), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.String(40), nullable=True),
        sa.Column("coupon_code", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referral_rewards"),
        sa.UniqueConstraint("referral_id", "side", name="uq_referral_rewards_side"),
    )
    op.create_index("ix_referral_rewards_user", "referral_rewards", ["user_id", "created_at"])
    op.create_table(
        "group_buys",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("sku", sa.String(200), nullable=False),
        sa.Column("group_price_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("leader_id", sa.String(200), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("deadline", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_group_buys"),
    )
    op.create_index("ix_group_buys_due", "group_buys", ["status", "deadline"])
    op.create_table(
        "group_members",
        _id(),
        sa.Column("group_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("hold_ref", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("joined_at", TS, nullable=False),
        sa.Column("settled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_group_members"),
        sa.UniqueConstraint("group_id", "user_id", name="uq_group_members_user"),
    )


def downgrade() -> None:
    """Drop the referral and group-buy tables."""
    for table in (
        "group_members",
        "group_buys",
        "referral_rewards",
        "referral_decisions",
        "referrals",
        "referral_fingerprints",
        "referral_codes",
        "referral_config",
    ):
        op.drop_table(table)
