"""All referral queries: codes, fingerprints, referrals, decisions, rewards."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenure.referrals.models import (
    Decision,
    Fingerprint,
    Referral,
    ReferralCode,
    Reward,
    VoidOrder,
)


def add(session: Session, *rows: object) -> None:
    """Stage rows and flush (so unique constraints fire inside the unit of work)."""
    session.add_all(rows)
    session.flush()


def code_of_user(session: Session, user_id: str) -> ReferralCode | None:
    """The referrer's code, if they have one."""
    return session.scalars(select(ReferralCode).where(ReferralCode.user_id == user_id)).first()


def get_code(session: Session, code: str, lock: bool = False) -> ReferralCode | None:
    """A code by its text; `lock` holds its row (FOR UPDATE) so one referrer's sign-ups queue."""
    stmt = select(ReferralCode).where(ReferralCode.code == code)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def get(session: Session, referral_id: str, lock: bool = False) -> Referral | None:
    """A referral by id, optionally locked."""
    stmt = select(Referral).where(Referral.id == referral_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def of_invitee(session: Session, invitee_id: str, lock: bool = False) -> Referral | None:
    """The invitee's referral, optionally locked."""
    stmt = select(Referral).where(Referral.invitee_id == invitee_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def by_order(session: Session, order_id: str, lock: bool = False) -> Referral | None:
    """The referral whose qualifying order is `order_id`."""
    stmt = select(Referral).where(Referral.order_id == order_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def void_order(session: Session, order_id: str) -> VoidOrder | None:
    """The record of an order that stopped qualifying its referral, if any."""
    return session.get(VoidOrder, order_id)


def signups_since(session: Session, referrer_id: str, since: datetime) -> int:
    """How many invitees were attributed to the referrer after `since` (a half-open window)."""
    stmt = select(func.count()).where(
        Referral.referrer_id == referrer_id, Referral.attributed_at > since
    )
    return int(session.scalar(stmt) or 0)


def rewarded_since(session: Session, referrer_id: str, since: datetime) -> int:
    """How many referrer-side rewards the referrer was granted since `since`."""
    stmt = select(func.count()).where(
        Reward.user_id == referrer_id,
        Reward.side == "referrer",
        Reward.status == "granted",
        Reward.created_at >= since,
    )
    return int(session.scalar(stmt) or 0)


def listing(
    session: Session,
    status: str | None = None,
    referrer_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Referral]:
    """Referrals, newest first, filtered by status and referrer."""
    stmt = select(Referral)
    if status:
        stmt = stmt.where(Referral.status == status)
    if referrer_id:
        stmt = stmt.where(Referral.referrer_id == referrer_id)
    stmt = stmt.order_by(Referral.attributed_at.desc(), Referral.id).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def due_ids(session: Session, now: datetime, limit: int) -> list[str]:
    """Qualifying referrals whose return window has closed, oldest first."""
    stmt = (
        select(Referral.id)
        .where(Referral.status == "qualifying", Referral.confirm_at <= now)
        .order_by(Referral.confirm_at, Referral.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def remember(session: Session, user_id: str, kind: str, value_hash: str, now: datetime) -> None:
    """Record a fingerprint for a user once."""
    stmt = select(Fingerprint.id).where(
        Fingerprint.user_id == user_id,
        Fingerprint.kind == kind,
        Fingerprint.value_hash == value_hash,
    )
    if session.scalar(stmt) is None:
        add(session, Fingerprint(user_id=user_id, kind=kind, value_hash=value_hash, seen_at=now))


def users_with(session: Session, kind: str, value_hash: str, among: Iterable[str]) -> list[str]:
    """Which of `among` have been seen with this fingerprint."""
    users = list(among)
    if not users:
        return []
    stmt = select(Fingerprint.user_id).where(
        Fingerprint.kind == kind,
        Fingerprint.value_hash == value_hash,
        Fingerprint.user_id.in_(users),
    )
    return sorted(set(session.scalars(stmt)))


def invitees_of(session: Session, referrer_id: str, other_than: str) -> list[str]:
    """The referrer's other invitees (their circle, for fingerprint matching)."""
    stmt = select(Referral.invitee_id).where(
        Referral.referrer_id == referrer_id, Referral.invitee_id != other_than
    )
    return list(session.scalars(stmt))


def decisions(session: Session, referral_id: str | None = None, limit: int = 200) -> list[Decision]:
    """Abuse decisions, newest first (all, or one referral's)."""
    stmt = select(Decision)
    if referral_id is not None:
        stmt = stmt.where(Decision.referral_id == referral_id)
    return list(session.scalars(stmt.order_by(Decision.id.desc()).limit(limit)))


def rewards_of(session: Session, referral_id: str) -> list[Reward]:
    """A referral's rewards, referrer side first."""
    stmt = select(Reward).where(Reward.referral_id == referral_id).order_by(Reward.side.desc())
    return list(session.scalars(stmt))


def status_counts(session: Session, referrer_id: str) -> dict[str, int]:
    """How many of the referrer's referrals are in each status."""
    stmt = (
        select(Referral.status, func.count())
        .where(Referral.referrer_id == referrer_id)
        .group_by(Referral.status)
    )
    return {status: int(n) for status, n in session.execute(stmt)}


def referrer_rewards(session: Session, referrer_id: str) -> list[Reward]:
    """Every referrer-side reward the user was given, oldest first."""
    stmt = select(Reward).where(Reward.user_id == referrer_id, Reward.side == "referrer")
    return list(session.scalars(stmt.order_by(Reward.id)))


def totals_by_status(session: Session) -> dict[str, int]:
    """How many referrals are in each status, program-wide."""
    stmt = select(Referral.status, func.count()).group_by(Referral.status)
    return {str(status): int(n) for status, n in session.execute(stmt)}


def reward_totals(session: Session) -> dict[str, tuple[int, int, int]]:
    """Per reward status: (reward rows, points, coupons), program-wide."""
    stmt = select(
        Reward.status,
        func.count(),
        func.coalesce(func.sum(Reward.points), 0),
        func.count(Reward.coupon_code),
    ).group_by(Reward.status)
    return {str(st): (int(n), int(p), int(c)) for st, n, p, c in session.execute(stmt)}


def decision_totals(session: Session) -> dict[tuple[str, str], int]:
    """How many times each (rule, action) fired, program-wide."""
    stmt = select(Decision.rule, Decision.action, func.count()).group_by(
        Decision.rule, Decision.action
    )
    return {(str(rule), str(action)): int(n) for rule, action, n in session.execute(stmt)}
