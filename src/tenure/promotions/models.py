"""Promotion tables: offers (coupon templates and automatic promotions), codes, reservations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class PromoOffer(Base):
    """An offer: condition(s) + benefit over a range, with its limits and the counters that
    reservations hold atomically (`used_count`, `spent_minor`, `stock_used`)."""

    __tablename__ = "promo_offers"
    # The counters can never pass their limits, whatever a caller does.
    __table_args__ = (
        CheckConstraint("total_limit IS NULL OR used_count <= total_limit", name="total_limit"),
        CheckConstraint("budget_minor IS NULL OR spent_minor <= budget_minor", name="budget"),
        CheckConstraint("stock IS NULL OR stock_used <= stock", name="stock"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # coupon | automatic
    status: Mapped[str] = mapped_column(String(16))  # active | paused | archived
    priority: Mapped[int] = mapped_column(Integer)
    exclusive: Mapped[bool] = mapped_column(Boolean)
    stack_group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    benefit: Mapped[dict[str, Any]] = mapped_column(JSON)
    item_range: Mapped[dict[str, Any]] = mapped_column(JSON)
    per_user_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    budget_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    stock: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stock_used: Mapped[int] = mapped_column(Integer, default=0)
    returns_on_refund: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @property
    def counted(self) -> bool:
        """Whether holds move this offer's counters. An offer with no limit of any kind is not
        touched: updating its row would make every checkout in the shop queue on one row lock.
        (Limits cannot be edited after creation, so a hold and its release always agree.)"""
        limits = (self.total_limit, self.budget_minor, self.stock, self.per_user_limit)
        return any(limit is not None for limit in limits)


class PromoCode(Base):
    """A coupon code: single-use (max_uses 1), shared (None or N uses), or in a user's wallet."""

    __tablename__ = "promo_codes"
    __table_args__ = (
        Index("ix_promo_codes_user_id", "user_id"),
        CheckConstraint("max_uses IS NULL OR used_count <= max_uses", name="max_uses"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("promo_offers.id"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    max_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # active | disabled | revoked
    batch: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PromoReservation(Base):
    """A checkout's hold on offers: held → confirmed (paid) | released | expired; confirmed →
    refunded once refunds reach the total (a partial refund keeps it confirmed). The idempotency
    key makes a retried reserve return the same hold."""

    __tablename__ = "promo_reservations"
    __table_args__ = (Index("ix_promo_reservations_status_expires", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    order_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    shipping_discount_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    # What the shop has refunded of `total_minor` so far (partial refunds add up).
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    quote: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class PromoRedemption(Base):
    """One offer used by one reservation: what it gave and what it holds (a code use, units).
    Status: held, used, released, returned (refund gave it back), refunded (refund kept it used)."""

    __tablename__ = "promo_redemptions"
    __table_args__ = (
        UniqueConstraint(
            "reservation_id", "offer_id", name="uq_promo_redemptions_reservation_offer"
        ),
        Index("ix_promo_redemptions_offer_user", "offer_id", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    reservation_id: Mapped[str] = mapped_column(ForeignKey("promo_reservations.id"))
    offer_id: Mapped[str] = mapped_column(ForeignKey("promo_offers.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("promo_codes.id"), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    value_minor: Mapped[int] = mapped_column(BigInteger)
    units: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PromoRefund(Base):
    """One refund of a confirmed reservation's order, once per refund id, with the points
    benefits it took back through loyalty (`points_shortfall`: already spent, not taken)."""

    __tablename__ = "promo_refunds"
    __table_args__ = (
        UniqueConstraint("reservation_id", "refund_id", name="uq_promo_refunds_reservation_refund"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    reservation_id: Mapped[str] = mapped_column(ForeignKey("promo_reservations.id"))
    refund_id: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    points_shortfall: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PromoCustomer(Base):
    """Orders a customer has paid through checkout, for first-order and new-user rules."""

    __tablename__ = "promo_customers"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    confirmed_orders: Mapped[int] = mapped_column(Integer)
    first_order_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_order_at: Mapped[datetime] = mapped_column(UtcDateTime())
