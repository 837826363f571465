"""Member points: account summary, history, earning for actions, spending, manual adjustments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.kit.ids import content_hash
from tenure.loyalty import membership, repository, rules
from tenure.loyalty.errors import PointsInvalid
from tenure.loyalty.ledger import book
from tenure.loyalty.models import Account, Transaction
from tenure.loyalty.program import Program
from tenure.loyalty.tiers import service as tiers


@dataclass(frozen=True)
class Outcome:
    """A ledger transaction and whether it was replayed from an earlier identical request."""

    transaction: Transaction
    replayed: bool


def open_account(session: Session, user_id: str, now: datetime) -> Account:
    """Create the account if needed and lock it for this unit of work."""
    repository.ensure_account(session, user_id, now)
    return repository.lock_account(session, user_id)


def expiry_for(program: Program, start: datetime) -> datetime | None:
    """When points that become spendable at `start` expire."""
    return start + timedelta(days=program.expiry_days) if program.expiry_days else None


def earn_action(
    session: Session,
    program: Program,
    zone: ZoneInfo,
    user_id: str,
    action: str,
    key: str,
    now: datetime,
    reference: str | None = None,
) -> Outcome:
    """Award an action's points (sign-up, review, birthday, …) within its caps."""
    # Client keys live in their own namespace so they never collide with internal ones.
    key = f"action:{key}"
    fingerprint = content_hash("action", user_id, action, reference)
    account = open_account(session, user_id, now)
    found = book.replay(session, key, fingerprint)
    if found is not None:
        return Outcome(found, True)
    extra = 0
    if action == "birthday":
        tier = program.tier(account.tier)
        extra = tier.birthday_gift_points if tier else 0
    points = rules.action_points(session, program, user_id, action, now, zone, extra)
    tx = book.earn(
        session,
        user_id,
        points,
        reason=f"action:{action}",
        key=key,
        fingerprint=fingerprint,
        now=now,
        expires_at=expiry_for(program, now),
        reference=reference,
    )
    if program.tier_basis == "points":
        tiers.upgrade(session, program, account, now)
    return Outcome(tx, False)


def adjust(
    session: Session,
    program: Program,
    user_id: str,
    points: int,
    reason: str,
    key: str,
    now: datetime,
) -> Outcome:
    """An operator's correction: a new lot when positive, a FIFO deduction when negative."""
    if points == 0:
        raise PointsInvalid(points=points)
    key = f"adjust:{key}"
    fingerprint = content_hash("adjust", user_id, points, reason)
    open_account(session, user_id, now)
    found = book.replay(session, key, fingerprint)
    if found is not None:
        return Outcome(found, True)
    if points > 0:
        tx = book.earn(
            session,
            user_id,
            points,
            reason=f"adjust:{reason}",
            key=key,
            fingerprint=fingerprint,
            now=now,
            expires_at=expiry_for(program, now),
        )
    else:
        tx = book.spend(
            session,
            user_id,
            -points,
            reason=f"adjust:{reason}",
            key=key,
            fingerprint=fingerprint,
            now=now,
            kind="adjust",
        )
    return Outcome(tx, False)


@dataclass(frozen=True)
class AwardReversal:
    """Points of an award taken back by one call; `shortfall` could not be (already spent)."""

    user_id: str
    awarded: int
    taken: int
    shortfall: int
    transaction: Transaction
    replayed: bool


def reverse_award(
    session: Session,
    award_key: str,
    reversal_key: str,
    upto: int | None,
    reason: str,
    now: datetime,
) -> AwardReversal | None:
    """Take back an award until `upto` of its points (None: all) stand reversed, once per key.

    `award_key` is the key `adjust` added the points under; None when there are none. As for a
    refund, the award's own lot goes first, then other points (FIFO), and what the member has
    already spent becomes `shortfall` (the balance never goes below zero).
    """
    award = repository.transaction_by_key(session, f"adjust:{award_key}")
    if award is None or award.kind != "earn":
        return None
    open_account(session, award.user_id, now)
    lot = repository.lot_of_transaction(session, award.id)
    awarded = lot.points if lot is not None else 0
    target = awarded if upto is None else min(max(upto, 0), awarded)
    key = f"reverse:{reversal_key}"
    fingerprint = content_hash("reverse", award.id, target)
    found = book.replay(session, key, fingerprint)
    if found is None:
        # Cumulative, as for order refunds: each call takes what is still missing to the target.
        done = repository.reversed_for_reference(session, award.user_id, award.id)
        tx = book.reverse(
            session, award.user_id, max(target - done, 0), key=key, fingerprint=fingerprint,
            now=now, lot_ids=[lot.id] if lot is not None else [], reason=reason,
            reference=award.id,
        )  # fmt: skip
    else:
        tx = found
    taken = -(tx.available_delta + tx.pending_delta)
    return AwardReversal(award.user_id, awarded, taken, tx.shortfall, tx, found is not None)


def spend(
    session: Session, user_id: str, points: int, reason: str, key: str, now: datetime
) -> Outcome:
    """Spend points now (outside checkout): 409 points_insufficient if the balance is short."""
    key = f"spend:{key}"
    fingerprint = content_hash("spend", user_id, points, reason)
    open_account(session, user_id, now)
    found = book.replay(session, key, fingerprint)
    if found is not None:
        return Outcome(found, True)
    tx = book.spend(
        session, user_id, points, reason=reason, key=key, fingerprint=fingerprint, now=now
    )
    return Outcome(tx, False)


@dataclass(frozen=True)
class Summary:
    """What a member page shows: balances, tier progress, membership, points expiring soon."""

    user_id: str
    exists: bool
    balances: repository.Balances
    tier: str | None
    tier_name: str | None
    tier_grace_until: datetime | None
    qualifying_value: int
    next_tier: str | None
    to_next_tier: int | None
    membership: membership.Status
    expiring_points: int
    expiring_before: datetime


def summary(session: Session, program: Program, user_id: str, now: datetime) -> Summary:
    """The member's summary (an unknown member reads as an empty account)."""
    account = repository.get_account(session, user_id)
    value = tiers.qualifying_value(session, program, user_id, now)
    tier = tiers.effective_tier(program, account.tier) if account else None
    rank = program.rank(tier)
    upcoming = program.tiers[rank + 1] if rank + 1 < len(program.tiers) else None
    horizon = now + timedelta(days=max(program.reminder_days, 1))
    expiring = sum(
        left
        for lot, left in repository.open_lots(session, user_id, "available")
        if lot.expires_at is not None and lot.expires_at <= horizon
    )
    found = program.tier(tier)
    return Summary(
        user_id=user_id,
        exists=account is not None,
        balances=repository.balances(session, user_id),
        tier=tier,
        tier_name=found.name if found else None,
        tier_grace_until=account.tier_grace_until if account else None,
        qualifying_value=value,
        next_tier=upcoming.code if upcoming else None,
        to_next_tier=max(upcoming.threshold - value, 0) if upcoming else None,
        membership=membership.status(session, user_id, now),
        expiring_points=expiring,
        expiring_before=horizon,
    )


def history(
    session: Session, user_id: str, limit: int = 50, before: datetime | None = None
) -> list[Transaction]:
    """The member's ledger, newest first."""
    return repository.history(session, user_id, min(max(limit, 1), 500), before)
