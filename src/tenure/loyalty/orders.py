"""Orders from the shop: points on payment (pending until the return window), reversal on refund."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.kit.ids import content_hash
from tenure.loyalty import membership, repository, rules
from tenure.loyalty.errors import (
    CurrencyMismatch,
    EarnCapReached,
    IdempotencyKeyReused,
    OrderNotFound,
    PointsInvalid,
    RefundExceedsOrder,
)
from tenure.loyalty.ledger import book
from tenure.loyalty.models import Order, Transaction
from tenure.loyalty.points import expiry_for, open_account
from tenure.loyalty.program import Program
from tenure.loyalty.tiers import service as tiers


@dataclass(frozen=True)
class PaidResult:
    """Points an order earned (including a first-order bonus) and the member's tier after it."""

    order: Order
    points: int
    bonus_points: int
    pending: bool
    confirm_at: datetime | None
    tier: str | None
    replayed: bool


def order_paid(
    session: Session,
    program: Program,
    zone: ZoneInfo,
    *,
    user_id: str,
    order_id: str,
    amount_minor: int,
    currency: str,
    paid_at: datetime,
    now: datetime,
) -> PaidResult:
    """Earn points for a paid order, once per order id."""
    currency = currency.upper()
    if currency != program.currency:
        raise CurrencyMismatch(currency=currency, expected=program.currency)
    if amount_minor < 0:
        raise PointsInvalid(points=amount_minor)
    account = open_account(session, user_id, now)
    order = repository.get_order(session, order_id)
    if order is not None:
        if (order.user_id, order.amount_minor, order.currency) != (user_id, amount_minor, currency):
            raise IdempotencyKeyReused(idempotency_key=f"order:{order_id}")
        return _paid_result(session, order, account.tier, now, replayed=True)
    plan = membership.active_plan(session, program, user_id, paid_at)
    mult = rules.multiplier(program, account.tier, plan, paid_at, zone)
    points = rules.order_points(program, amount_minor, mult.bps)
    first = not repository.has_other_orders(session, user_id, order_id)
    order = Order(
        order_id=order_id,
        user_id=user_id,
        amount_minor=amount_minor,
        currency=currency,
        paid_at=paid_at,
        refunded_minor=0,
        points_earned=0,
        multiplier_bps=mult.bps,
    )
    repository.add(session, order)
    confirm_at = paid_at + timedelta(days=program.return_window_days)
    expires_at = expiry_for(program, max(confirm_at, now))
    fingerprint = content_hash("order", user_id, order_id, amount_minor, currency)
    if points > 0:
        book.earn(
            session, user_id, points, reason="order", key=f"order:{order_id}",
            fingerprint=fingerprint, now=now, confirm_at=confirm_at, expires_at=expires_at,
            order_id=order_id,
        )  # fmt: skip
    bonus = 0
    if first and "first_order" in program.actions:
        try:
            bonus = rules.action_points(session, program, user_id, "first_order", now, zone)
        except EarnCapReached:
            bonus = 0
        if bonus > 0:
            book.earn(
                session, user_id, bonus, reason="action:first_order",
                key=f"order:{order_id}:first_order", fingerprint=fingerprint, now=now,
                confirm_at=confirm_at, expires_at=expires_at, order_id=order_id,
            )  # fmt: skip
    order.points_earned = points + bonus
    tiers.upgrade(session, program, account, now)
    return _paid_result(session, order, account.tier, now, replayed=False)


def _paid_result(
    session: Session, order: Order, tier: str | None, now: datetime, replayed: bool
) -> PaidResult:
    lots = repository.lots_of_order(session, order.order_id)
    first_bonus = sum(
        lot.points
        for lot in lots
        if (tx := repository.get_transaction(session, lot.transaction_id)) is not None
        and tx.reason == "action:first_order"
    )
    confirm_at = next((lot.confirm_at for lot in lots if lot.confirm_at is not None), None)
    return PaidResult(
        order=order,
        points=order.points_earned - first_bonus,
        bonus_points=first_bonus,
        pending=confirm_at is not None and confirm_at > now,
        confirm_at=confirm_at,
        tier=tier,
        replayed=replayed,
    )


@dataclass(frozen=True)
class RefundResult:
    """Points taken back for a refund; `shortfall` could not be taken (already spent)."""

    order: Order
    transaction: Transaction
    replayed: bool


def order_refunded(
    session: Session, order_id: str, refund_id: str, amount_minor: int, now: datetime
) -> RefundResult:
    """Reverse the share of the order's points that the refund covers, once per refund id."""
    order = repository.get_order(session, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    if amount_minor <= 0:
        raise PointsInvalid(points=amount_minor)
    open_account(session, order.user_id, now)
    session.refresh(order)
    key = f"refund:{refund_id}"
    fingerprint = content_hash("refund", order_id, amount_minor)
    found = book.replay(session, key, fingerprint)
    if found is not None:
        return RefundResult(order, found, True)
    refunded = order.refunded_minor + amount_minor
    if refunded > order.amount_minor:
        raise RefundExceedsOrder(
            order_id=order_id,
            amount=order.amount_minor,
            refunded=order.refunded_minor,
            requested=amount_minor,
        )
    # Cumulative: the total taken back is the refunded share of what the order earned.
    target = (
        order.points_earned
        if refunded == order.amount_minor
        else order.points_earned * refunded // max(order.amount_minor, 1)
    )
    done = repository.reversed_for_order(session, order_id)
    order.refunded_minor = refunded
    tx = book.reverse(
        session,
        order.user_id,
        max(target - done, 0),
        order_id=order_id,
        key=key,
        fingerprint=fingerprint,
        now=now,
    )
    return RefundResult(order, tx, False)
