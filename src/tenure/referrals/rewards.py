"""Two-sided rewards: granted once per referral and side, in the unit of work that settles it;
cancelled or clawed back when the qualifying order is refunded after its return window."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.referrals import abuse, repository
from tenure.referrals.config import Program, SideReward
from tenure.referrals.errors import ReferralNotFound, ReferralNotHeld
from tenure.referrals.models import Referral, Reward


def _award_key(referral_id: str, side: str) -> str:
    return f"referral:{referral_id}:{side}"


def _give(
    session: Session, referral: Referral, side: str, user_id: str, spec: SideReward, now: datetime
) -> Reward:
    # One key per referral and side: a replayed award returns the first result, and the unique
    # (referral_id, side) row below makes a second grant of the same side impossible.
    points = spec.points
    if points > 0:
        from tenure.loyalty.service import award_points

        award_points(session, user_id, points, "referral", _award_key(referral.id, side), now)
    code = None
    if spec.coupon_offer_id:
        from tenure.promotions.coupons.service import issue_to_wallets

        code = issue_to_wallets(session, spec.coupon_offer_id, [user_id], now).codes[0]
    row = Reward(
        referral_id=referral.id,
        side=side,
        user_id=user_id,
        status="granted",
        points=points,
        offer_id=spec.coupon_offer_id,
        coupon_code=code,
        created_at=now,
    )
    repository.add(session, row)
    return row


def grant(
    session: Session, program: Program, referral: Referral, zone: ZoneInfo, now: datetime
) -> list[Reward]:
    """Reward both sides (the referrer's side unless capped) and mark the referral rewarded."""
    # The referrer's code row serialises their rewards, so two workers cannot both pass the cap.
    repository.get_code(session, referral.code, lock=True)
    done = {r.side for r in repository.rewards_of(session, referral.id)}
    rows: list[Reward] = []
    if "invitee" not in done and _worth(program.invitee):
        rows.append(_give(session, referral, "invitee", referral.invitee_id, program.invitee, now))
    if "referrer" not in done and _worth(program.referrer):
        if abuse.referrer_capped(session, program, referral, zone, now):
            capped = Reward(
                referral_id=referral.id,
                side="referrer",
                user_id=referral.referrer_id,
                status="capped",
                points=0,
                created_at=now,
            )
            repository.add(session, capped)
            rows.append(capped)
        else:
            rows.append(
                _give(session, referral, "referrer", referral.referrer_id, program.referrer, now)
            )
    referral.status = "rewarded"
    referral.decided_at = referral.decided_at or now
    session.flush()
    return rows


def _worth(spec: SideReward) -> bool:
    return spec.points > 0 or spec.coupon_offer_id is not None


def settle_due(
    session: Session, program: Program, referral_id: str, zone: ZoneInfo, now: datetime
) -> str | None:
    """Settle one referral whose window closed: hold it for review or reward it; its new status."""
    referral = repository.get(session, referral_id, lock=True)
    if referral is None or referral.status != "qualifying":
        return None  # another worker settled it first, or the order was refunded meanwhile
    if referral.hold_reasons:
        referral.status = "held"
        session.flush()
        return "held"
    grant(session, program, referral, zone, now)
    return "rewarded"


def _held(session: Session, referral_id: str) -> Referral:
    referral = repository.get(session, referral_id, lock=True)
    if referral is None:
        raise ReferralNotFound(referral_id=referral_id)
    if referral.status != "held":
        raise ReferralNotHeld(referral_id=referral_id, referral_status=referral.status)
    return referral


def approve(
    session: Session,
    program: Program,
    referral_id: str,
    reviewer: str,
    note: str | None,
    zone: ZoneInfo,
    now: datetime,
) -> Referral:
    """A reviewer clears a held referral: both sides are rewarded now."""
    referral = _held(session, referral_id)
    referral.decided_by, referral.note, referral.decided_at = reviewer, note, now
    abuse.record(
        session, "review", "approve", referral.referrer_id, referral.invitee_id, now, referral.id,
        reviewer=reviewer, note=note,
    )  # fmt: skip
    grant(session, program, referral, zone, now)
    return referral


def reject(
    session: Session, referral_id: str, reviewer: str, note: str | None, now: datetime
) -> Referral:
    """A reviewer rejects a held referral: nobody is rewarded for it."""
    referral = _held(session, referral_id)
    referral.status = "rejected"
    referral.decided_by, referral.note, referral.decided_at = reviewer, note, now
    abuse.record(
        session, "review", "reject", referral.referrer_id, referral.invitee_id, now, referral.id,
        reviewer=reviewer, note=note,
    )  # fmt: skip
    session.flush()
    return referral


def cancel_unearned(
    session: Session, program: Program, referral: Referral, reason: str, now: datetime
) -> list[Reward]:
    """The order was refunded before anyone was rewarded: record each side's reward as
    cancelled (which also stops any later grant: a side is granted once) and close the referral."""
    done = {r.side for r in repository.rewards_of(session, referral.id)}
    rows: list[Reward] = []
    for side, user_id, spec in (
        ("invitee", referral.invitee_id, program.invitee),
        ("referrer", referral.referrer_id, program.referrer),
    ):
        if side in done or not _worth(spec):
            continue
        rows.append(
            Reward(
                referral_id=referral.id,
                side=side,
                user_id=user_id,
                status="cancelled",
                points=spec.points,
                offer_id=spec.coupon_offer_id,
                created_at=now,
                reason=reason,
                closed_at=now,
            )
        )
    repository.add(session, *rows)
    referral.status, referral.decided_at = "cancelled", now
    session.flush()
    return rows


def reverse_granted(
    session: Session, referral: Referral, reason: str, now: datetime
) -> list[Reward]:
    """The order was refunded after the rewards: take the points back through the loyalty ledger
    (a reversal entry; what was spent is recorded as shortfall) and revoke unused coupons."""
    from tenure.loyalty.service import reverse_award
    from tenure.promotions.coupons.service import revoke_code

    rows = [r for r in repository.rewards_of(session, referral.id) if r.status == "granted"]
    for row in rows:
        if row.points > 0:
            key = _award_key(referral.id, row.side)
            taken = reverse_award(session, key, f"{key}:refund", "refund:referral", None, now)
            if taken is not None:
                row.points_reversed, row.points_shortfall = taken.taken, taken.shortfall
        if row.coupon_code:
            row.coupon_outcome = revoke_code(session, row.coupon_code)
        row.status, row.reason, row.closed_at = "reversed", reason, now
    referral.status = "reversed"
    session.flush()
    return rows
