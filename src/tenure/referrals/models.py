"""Referral and group-buy tables: codes, referrals, abuse decisions, rewards, groups, members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime


class ReferralConfig(Base):
    """The referral program document (one row, versioned by a counter)."""

    __tablename__ = "referral_config"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReferralCode(Base):
    """A referrer's invite code; one per referrer, locked to serialise that referrer's sign-ups."""

    __tablename__ = "referral_codes"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Fingerprint(Base):
    """A hashed device id, IP address or payment fingerprint seen for a user."""

    __tablename__ = "referral_fingerprints"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "value_hash", name="uq_referral_fingerprints_seen"),
        Index("ix_referral_fingerprints_match", "kind", "value_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # device / ip / payment
    value_hash: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Referral(Base):
    """One invitee attributed to one referrer; invitee_id is unique, so attribution happens once."""

    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_referrer", "referrer_id", "attributed_at"),
        Index("ix_referrals_due", "status", "confirm_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    referrer_id: Mapped[str] = mapped_column(String(200))
    invitee_id: Mapped[str] = mapped_column(String(200), unique=True)
    # pending (no order yet) → qualifying (first order in its return window) → rewarded;
    # held (an abuse rule asks for review) → rewarded or rejected. A refund in the window goes
    # back to pending; a later one turns held into cancelled and rewarded into reversed.
    status: Mapped[str] = mapped_column(String(16))
    attributed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    order_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    order_paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    confirm_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # The qualifying order's amount, and the refunded total the shop last reported for it: a
    # partial refund that leaves at least the program's minimum keeps the order qualifying.
    order_amount_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    order_refunded_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    hold_reasons: Mapped[str] = mapped_column(String(200), default="")  # space-separated rules
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Decision(Base):
    """An abuse rule that fired: its action (reject / hold / cap), why, and the data behind it."""

    __tablename__ = "referral_decisions"
    __table_args__ = (Index("ix_referral_decisions_referrer", "referrer_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    referrer_id: Mapped[str] = mapped_column(String(200))
    invitee_id: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Reward(Base):
    """One side's reward for one referral; (referral, side) is unique, so it is granted once."""

    __tablename__ = "referral_rewards"
    __table_args__ = (
        UniqueConstraint("referral_id", "side", name="uq_referral_rewards_side"),
        Index("ix_referral_rewards_user", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(16))  # referrer / invitee
    user_id: Mapped[str] = mapped_column(String(200))
    # granted / capped; cancelled (the order was refunded before the grant) / reversed (after)
    status: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer, default=0)
    offer_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    coupon_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Why and when it was cancelled or reversed, and what the reversal could take back: points
    # the member had already spent are `points_shortfall`; the coupon is revoked or already_used.
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    points_reversed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    points_shortfall: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    coupon_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)


class GroupBuy(Base):
    """A group buy (拼团): completes when `size` members join before `deadline`, else fails."""

    __tablename__ = "group_buys"
    __table_args__ = (Index("ix_group_buys_due", "status", "deadline"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sku: Mapped[str] = mapped_column(String(200))
    group_price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    size: Mapped[int] = mapped_column(Integer)
    members: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # open / completed / failed
    leader_id: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class GroupMember(Base):
    """A member's place and payment hold in a group; captured on completion, refunded on failure."""

    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id", name="uq_group_members_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(200))
    hold_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # held / captured / refunded
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class VoidOrder(Base):
    """An order that qualified a referral and was refunded inside the return window: the
    referral went back to waiting, and a repeated refund of the order finds it here."""

    __tablename__ = "referral_void_orders"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(16))
    voided_at: Mapped[datetime] = mapped_column(UtcDateTime())
