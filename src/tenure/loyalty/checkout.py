"""Points at checkout: quote a discount, reserve the points, confirm or release the hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tenure.kit.ids import content_hash, new_id
from tenure.kit.money import apply_bps
from tenure.loyalty import repository, rules
from tenure.loyalty.errors import (
    CurrencyMismatch,
    IdempotencyKeyReused,
    PointsBelowMinimum,
    PointsExceedOrderShare,
    PointsInvalid,
    RedemptionNotFound,
    RedemptionSettled,
)
from tenure.loyalty.ledger import book
from tenure.loyalty.models import Redemption
from tenure.loyalty.points import open_account
from tenure.loyalty.program import Program


@dataclass(frozen=True)
class Quote:
    """What points can do for this order; `points` is what redeeming would charge."""

    user_id: str
    currency: str
    order_minor: int
    balance: int
    requested: int | None
    points: int
    discount_minor: int
    max_points: int
    limited_by: str | None
    usable: bool
    min_points: int


def _check(program: Program, order_minor: int, currency: str) -> None:
    if currency.upper() != program.currency:
        raise CurrencyMismatch(currency=currency.upper(), expected=program.currency)
    if order_minor < 0:
        raise PointsInvalid(points=order_minor)


def max_points_for(program: Program, order_minor: int) -> int:
    """Most points this order may take: its maximum discount share, converted down to points."""
    max_discount = apply_bps(order_minor, program.max_redeem_share_bps)
    return max_discount * program.redeem_points_per_unit // program.scale


def quote(
    session: Session,
    program: Program,
    user_id: str,
    order_minor: int,
    currency: str,
    points: int | None = None,
) -> Quote:
    """The discount `points` (or as many as allowed when None) would give; changes nothing."""
    _check(program, order_minor, currency)
    if points is not None and points <= 0:
        raise PointsInvalid(points=points)
    balance = repository.balances(session, user_id).available
    cap = max_points_for(program, order_minor)
    want = balance if points is None else points
    usable = min(want, balance, cap)
    limited_by = None
    if points is not None and usable < points:
        limited_by = "balance" if balance <= cap else "order_share"
    discount = rules.points_to_discount(program, usable)
    charge = rules.discount_to_points(program, discount)
    return Quote(
        user_id=user_id,
        currency=program.currency,
        order_minor=order_minor,
        balance=balance,
        requested=points,
        points=charge,
        discount_minor=discount,
        max_points=cap,
        limited_by=limited_by,
        usable=charge >= program.min_redeem_points and discount > 0,
        min_points=program.min_redeem_points,
    )


@dataclass(frozen=True)
class RedeemResult:
    """A redemption and whether it was replayed."""

    redemption: Redemption
    replayed: bool


def redeem(
    session: Session,
    program: Program,
    user_id: str,
    order_minor: int,
    currency: str,
    points: int,
    key: str,
    now: datetime,
    order_id: str | None = None,
) -> RedeemResult:
    """Reserve points for a checkout discount; exactly `points` or a 409 saying why not."""
    _check(program, order_minor, currency)
    if points <= 0:
        raise PointsInvalid(points=points)
    fingerprint = content_hash("redeem", user_id, order_minor, currency.upper(), points)
    open_account(session, user_id, now)
    found = repository.redemption_by_key(session, key)
    if found is not None:
        if found.fingerprint != fingerprint:
            raise IdempotencyKeyReused(idempotency_key=key)
        return RedeemResult(found, True)
    cap = max_points_for(program, order_minor)
    if points > cap:
        raise PointsExceedOrderShare(
            requested=points,
            max_points=cap,
            order_minor=order_minor,
            max_share_bps=program.max_redeem_share_bps,
        )
    discount = rules.points_to_discount(program, points)
    charge = rules.discount_to_points(program, discount)
    if charge < program.min_redeem_points or discount <= 0:
        raise PointsBelowMinimum(requested=points, minimum=program.min_redeem_points)
    tx = book.reserve(
        session, user_id, charge, key=f"redeem:{key}", fingerprint=fingerprint, now=now
    )
    row = Redemption(
        id=new_id("rdm"),
        user_id=user_id,
        points=charge,
        discount_minor=discount,
        order_minor=order_minor,
        currency=program.currency,
        order_id=order_id,
        status="reserved",
        idempotency_key=key,
        fingerprint=fingerprint,
        transaction_id=tx.id,
        created_at=now,
        expires_at=now + timedelta(minutes=program.reservation_minutes),
    )
    repository.add(session, row)
    return RedeemResult(row, False)


def settle(
    session: Session,
    redemption_id: str,
    *,
    release: bool,
    now: datetime,
    order_id: str | None = None,
) -> Redemption:
    """Confirm (points spent) or release (points back) a reservation; repeating is harmless."""
    found = repository.get_redemption(session, redemption_id)
    if found is None:
        raise RedemptionNotFound(redemption_id=redemption_id)
    repository.lock_account(session, found.user_id)
    row = repository.get_redemption(session, redemption_id)
    assert row is not None
    target = "released" if release else "confirmed"
    if row.status == target:
        return row
    if row.status != "reserved":
        raise RedemptionSettled(redemption_id=redemption_id, current_status=row.status)
    book.settle_reservation(
        session,
        row.user_id,
        row.transaction_id,
        release=release,
        key=f"redemption:{row.id}:{target}",
        now=now,
    )
    row.status, row.settled_at = target, now
    if order_id:
        row.order_id = order_id
    session.flush()
    return row
