"""Loyalty tables. The ledger (transactions, lots, entries) is append-only; the rest is state."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")
_TS = UtcDateTime()
USER = 200


class ProgramVersion(Base):
    """One saved version of the program configuration (JSON); the highest version is live."""

    __tablename__ = "loyalty_programs"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    config: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(_TS)


class Account(Base):
    """A member: the row every points mutation locks, and the current tier."""

    __tablename__ = "loyalty_accounts"

    user_id: Mapped[str] = mapped_column(String(USER), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(_TS)
    tier: Mapped[str | None] = mapped_column(String(40), nullable=True)
    tier_since: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
    tier_grace_until: Mapped[datetime | None] = mapped_column(_TS, nullable=True)


class Transaction(Base):
    """One ledger mutation (earn, spend, expire, reverse, …), idempotent by its key."""

    __tablename__ = "loyalty_transactions"
    __table_args__ = (Index("ix_loyalty_transactions_user_kind", "user_id", "kind", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(USER))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(100))
    available_delta: Mapped[int] = mapped_column(BigInteger)
    pending_delta: Mapped[int] = mapped_column(BigInteger)
    reserved_delta: Mapped[int] = mapped_column(BigInteger)
    shortfall: Mapped[int] = mapped_column(BigInteger, default=0)
    available_after: Mapped[int] = mapped_column(BigInteger)
    pending_after: Mapped[int] = mapped_column(BigInteger)
    reserved_after: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str] = mapped_column(String(250), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(USER), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(USER), nullable=True)
    created_at: Mapped[datetime] = mapped_column(_TS)


class Lot(Base):
    """Points earned together: they confirm together and expire together (FIFO by expiry)."""

    __tablename__ = "loyalty_lots"
    __table_args__ = (Index("ix_loyalty_lots_user_expires", "user_id", "expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(USER))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("loyalty_transactions.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    earned_at: Mapped[datetime] = mapped_column(_TS)
    confirm_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
    order_id: Mapped[str | None] = mapped_column(String(USER), nullable=True, index=True)


class Entry(Base):
    """A signed posting of one transaction to one bucket (available/pending/reserved) of a lot."""

    __tablename__ = "loyalty_entries"
    __table_args__ = (
        Index("ix_loyalty_entries_user_bucket", "user_id", "bucket"),
        Index("ix_loyalty_entries_lot", "lot_id", "bucket"),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("loyalty_transactions.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(USER))
    lot_id: Mapped[str] = mapped_column(ForeignKey("loyalty_lots.id"))
    bucket: Mapped[str] = mapped_column(String(10))
    points: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(_TS)


class Order(Base):
    """An order the shop reported paid, with what it earned and what was refunded since."""

    __tablename__ = "loyalty_orders"
    __table_args__ = (Index("ix_loyalty_orders_user_paid", "user_id", "paid_at"),)

    order_id: Mapped[str] = mapped_column(String(USER), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(USER))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_at: Mapped[datetime] = mapped_column(_TS)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    multiplier_bps: Mapped[int] = mapped_column(Integer)


class Redemption(Base):
    """Points reserved at checkout: confirmed when the order completes, released on cancel."""

    __tablename__ = "loyalty_redemptions"
    __table_args__ = (Index("ix_loyalty_redemptions_status", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(USER), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    order_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    order_id: Mapped[str | None] = mapped_column(String(USER), nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    idempotency_key: Mapped[str] = mapped_column(String(250), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("loyalty_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(_TS)
    expires_at: Mapped[datetime] = mapped_column(_TS)
    settled_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)


class TierEvent(Base):
    """History of tier changes (upgrade, grace, downgrade, manual)."""

    __tablename__ = "loyalty_tier_events"

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(USER), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    from_tier: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_tier: Mapped[str | None] = mapped_column(String(40), nullable=True)
    qualifying_value: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(_TS)


class Checkin(Base):
    """One daily check-in; the unique (user, local day) makes it one per day."""

    __tablename__ = "loyalty_checkins"
    __table_args__ = (UniqueConstraint("user_id", "local_date", name="uq_loyalty_checkins_day"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(USER))
    local_date: Mapped[date] = mapped_column(Date)
    streak: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[str | None] = mapped_column(
        ForeignKey("loyalty_transactions.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(_TS)


class TaskCompletion(Base):
    """A completed one-off task; the primary key makes it award once."""

    __tablename__ = "loyalty_task_completions"

    user_id: Mapped[str] = mapped_column(String(USER), primary_key=True)
    task: Mapped[str] = mapped_column(String(60), primary_key=True)
    points: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[str | None] = mapped_column(
        ForeignKey("loyalty_transactions.id"), nullable=True
    )
    completed_at: Mapped[datetime] = mapped_column(_TS)


class Membership(Base):
    """One paid membership period; renewals stack periods end to end."""

    __tablename__ = "loyalty_memberships"
    __table_args__ = (Index("ix_loyalty_memberships_user_expires", "user_id", "expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(USER))
    plan: Mapped[str] = mapped_column(String(60))
    payment_ref: Mapped[str] = mapped_column(String(250), unique=True)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    starts_at: Mapped[datetime] = mapped_column(_TS)
    expires_at: Mapped[datetime] = mapped_column(_TS)
    cancelled_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)


class Reward(Base):
    """A catalogue reward bought with points: a gift or a coupon."""

    __tablename__ = "loyalty_rewards"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    points_cost: Mapped[int] = mapped_column(BigInteger)
    coupon_template: Mapped[str | None] = mapped_column(String(200), nullable=True)
    stock: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(_TS)


class RewardClaim(Base):
    """A reward a member bought; the shop fulfils it (ships the gift, issues the coupon)."""

    __tablename__ = "loyalty_reward_claims"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    reward_code: Mapped[str] = mapped_column(ForeignKey("loyalty_rewards.code"))
    user_id: Mapped[str] = mapped_column(String(USER), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("loyalty_transactions.id"), unique=True)
    coupon_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(_TS)


class ExpiryNotice(Base):
    """A reminder that a lot is about to expire: an outbox read by campaigns or a webhook."""

    __tablename__ = "loyalty_expiry_notices"

    lot_id: Mapped[str] = mapped_column(ForeignKey("loyalty_lots.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(USER), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(_TS)
    created_at: Mapped[datetime] = mapped_column(_TS, index=True)
