"""Posting to the ledger. Every function expects the member's account row to be locked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tenure.kit.bounds import BALANCE_MAX
from tenure.kit.ids import content_hash, new_id
from tenure.loyalty import repository
from tenure.loyalty.errors import (
    IdempotencyKeyReused,
    PointsBalanceLimit,
    PointsInsufficient,
    PointsInvalid,
)
from tenure.loyalty.models import Entry, Lot, Transaction

FINGERPRINT_LENGTH = 64  # loyalty_transactions.fingerprint


@dataclass(frozen=True)
class Posting:
    """Signed points moved in one bucket of one lot."""

    lot_id: str
    bucket: str
    points: int


def _fitted(fingerprint: str) -> str:
    """The fingerprint as stored: a key used as its own fingerprint (check-ins, tasks) carries a
    user id and can pass the 64 characters of the column, so a long one is stored hashed."""
    return fingerprint if len(fingerprint) <= FINGERPRINT_LENGTH else content_hash(fingerprint)


def replay(session: Session, key: str, fingerprint: str) -> Transaction | None:
    """The transaction already recorded under `key`, or None; a different request is a 409."""
    found = repository.transaction_by_key(session, key)
    if found is not None and found.fingerprint != _fitted(fingerprint):
        raise IdempotencyKeyReused(idempotency_key=key)
    return found


def _post(
    session: Session,
    *,
    user_id: str,
    kind: str,
    reason: str,
    key: str,
    fingerprint: str,
    postings: list[Posting],
    now: datetime,
    lot: Lot | None = None,
    order_id: str | None = None,
    reference: str | None = None,
    shortfall: int = 0,
) -> Transaction:
    before = repository.balances(session, user_id)
    delta = {b: sum(p.points for p in postings if p.bucket == b) for b in repository.BUCKETS}
    _check_limit(user_id, before, sum(delta.values()))
    tx = Transaction(
        id=new_id("ptx"),
        user_id=user_id,
        kind=kind,
        reason=reason,
        available_delta=delta["available"],
        pending_delta=delta["pending"],
        reserved_delta=delta["reserved"],
        shortfall=shortfall,
        available_after=before.available + delta["available"],
        pending_after=before.pending + delta["pending"],
        reserved_after=before.reserved + delta["reserved"],
        idempotency_key=key,
        fingerprint=_fitted(fingerprint),
        order_id=order_id,
        reference=reference,
        created_at=now,
    )
    # Flushed one by one: the rows reference each other by foreign key without ORM relationships.
    repository.add(session, tx)
    if lot is not None:
        lot.transaction_id = tx.id
        repository.add(session, lot)
    entries = [
        Entry(
            transaction_id=tx.id,
            user_id=user_id,
            lot_id=p.lot_id,
            bucket=p.bucket,
            points=p.points,
            created_at=now,
        )
        for p in postings
        if p.points
    ]
    repository.add(session, *entries)
    if tx.available_after < 0 or tx.reserved_after < 0 or tx.pending_after < 0:
        raise AssertionError(f"ledger invariant broken for {user_id}: {tx.id}")
    return tx


def _check_limit(user_id: str, before: repository.Balances, added: int) -> None:
    """Refuse a posting that would take the member's points (all buckets) past BALANCE_MAX, so
    no balance, lot or entry can leave int64 on either engine. Taking points away always works."""
    held = before.available + before.pending + before.reserved
    if added > 0 and held + added > BALANCE_MAX:
        raise PointsBalanceLimit(user_id=user_id, balance=held, requested=added, limit=BALANCE_MAX)


def _fifo(lots: list[tuple[Lot, int]], points: int) -> list[tuple[str, int]]:
    taken: list[tuple[str, int]] = []
    for lot, left in lots:
        if points <= 0:
            break
        take = min(left, points)
        taken.append((lot.id, take))
        points -= take
    return taken


def earn(
    session: Session,
    user_id: str,
    points: int,
    *,
    reason: str,
    key: str,
    fingerprint: str,
    now: datetime,
    confirm_at: datetime | None = None,
    expires_at: datetime | None = None,
    order_id: str | None = None,
    reference: str | None = None,
) -> Transaction:
    """Add a lot of points: pending until `confirm_at` when that is in the future."""
    if points <= 0:
        raise PointsInvalid(points=points)
    pending = confirm_at is not None and confirm_at > now
    lot = Lot(
        id=new_id("lot"),
        user_id=user_id,
        points=points,
        earned_at=now,
        confirm_at=confirm_at if pending else None,
        expires_at=expires_at,
        order_id=order_id,
    )
    bucket = "pending" if pending else "available"
    return _post(
        session,
        user_id=user_id,
        kind="earn",
        reason=reason,
        key=key,
        fingerprint=fingerprint,
        postings=[Posting(lot.id, bucket, points)],
        now=now,
        lot=lot,
        order_id=order_id,
        reference=reference,
    )


def _take_available(session: Session, user_id: str, points: int) -> list[tuple[str, int]]:
    if points <= 0:
        raise PointsInvalid(points=points)
    lots = repository.open_lots(session, user_id, "available")
    balance = sum(left for _, left in lots)
    if balance < points:
        raise PointsInsufficient(user_id=user_id, balance=balance, requested=points)
    return _fifo(lots, points)


def spend(
    session: Session,
    user_id: str,
    points: int,
    *,
    reason: str,
    key: str,
    fingerprint: str,
    now: datetime,
    reference: str | None = None,
    kind: str = "spend",
) -> Transaction:
    """Spend available points, oldest-expiring lots first; never below zero."""
    taken = _take_available(session, user_id, points)
    postings = [Posting(lot_id, "available", -n) for lot_id, n in taken]
    return _post(
        session,
        user_id=user_id,
        kind=kind,
        reason=reason,
        key=key,
        fingerprint=fingerprint,
        postings=postings,
        now=now,
        reference=reference,
    )


def reserve(
    session: Session, user_id: str, points: int, *, key: str, fingerprint: str, now: datetime
) -> Transaction:
    """Move available points to `reserved` (a checkout hold), lot by lot."""
    taken = _take_available(session, user_id, points)
    postings = [Posting(lot_id, "available", -n) for lot_id, n in taken]
    postings += [Posting(lot_id, "reserved", n) for lot_id, n in taken]
    return _post(
        session,
        user_id=user_id,
        kind="reserve",
        reason="checkout",
        key=key,
        fingerprint=fingerprint,
        postings=postings,
        now=now,
    )


def settle_reservation(
    session: Session, user_id: str, reserve_tx_id: str, *, release: bool, key: str, now: datetime
) -> Transaction:
    """Release a hold back to its lots, or consume it (the points are spent)."""
    held = repository.transaction_lot_points(session, reserve_tx_id, "reserved")
    postings = [Posting(lot_id, "reserved", -n) for lot_id, n in held]
    if release:
        postings += [Posting(lot_id, "available", n) for lot_id, n in held]
    return _post(
        session,
        user_id=user_id,
        kind="release" if release else "redeem",
        reason="checkout",
        key=key,
        fingerprint=key,
        postings=postings,
        now=now,
        reference=reserve_tx_id,
    )


def move_lot(
    session: Session, lot: Lot, *, kind: str, key: str, now: datetime
) -> Transaction | None:
    """Confirm a lot's pending points, or expire its available ones; None when nothing is left."""
    source = "pending" if kind == "confirm" else "available"
    left = repository.open_lots(session, lot.user_id, source, [lot.id])
    if not left:
        return None
    points = left[0][1]
    postings = [Posting(lot.id, source, -points)]
    if kind == "confirm":
        postings.append(Posting(lot.id, "available", points))
    return _post(
        session,
        user_id=lot.user_id,
        kind=kind,
        reason=kind,
        key=key,
        fingerprint=key,
        postings=postings,
        now=now,
        order_id=lot.order_id,
        reference=lot.id,
    )


def reverse(
    session: Session,
    user_id: str,
    points: int,
    *,
    order_id: str | None = None,
    key: str,
    fingerprint: str,
    now: datetime,
    lot_ids: list[str] | None = None,
    reason: str = "refund",
    reference: str | None = None,
) -> Transaction:
    """Take back points: the source lots' pending, then their available, then other points (FIFO).

    The source lots are the order's (`order_id`) unless `lot_ids` names them (an award's lot).
    Balances never go negative: what cannot be taken back is recorded as `shortfall`.
    """
    if lot_ids is None:
        lot_ids = [lot.id for lot in repository.lots_of_order(session, order_id or "")]
    postings: list[Posting] = []
    left = points
    sources = [
        ("pending", repository.open_lots(session, user_id, "pending", lot_ids)),
        ("available", repository.open_lots(session, user_id, "available", lot_ids)),
    ]
    for bucket, lots in sources:
        for lot_id, n in _fifo(lots, left):
            postings.append(Posting(lot_id, bucket, -n))
            left -= n
    if left > 0:
        others = [
            (lot, n)
            for lot, n in repository.open_lots(session, user_id, "available")
            if lot.id not in lot_ids
        ]
        for lot_id, n in _fifo(others, left):
            postings.append(Posting(lot_id, "available", -n))
            left -= n
    return _post(
        session,
        user_id=user_id,
        kind="reverse",
        reason=reason,
        key=key,
        fingerprint=fingerprint,
        postings=postings,
        now=now,
        order_id=order_id,
        reference=reference,
        shortfall=left,
    )
