"""Anti-abuse rules: self-referral, shared fingerprints, velocity and period caps, each recorded."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.referrals import repository
from tenure.referrals.config import Program
from tenure.referrals.errors import SelfReferral, VelocityExceeded
from tenure.referrals.models import Decision, Referral
from tenure.storage.database import Rejected

KINDS = ("device", "ip", "payment")


def digest(kind: str, value: str) -> str:
    """A fingerprint is stored hashed: matching needs equality, not the raw device id or IP."""
    return hashlib.sha256(f"{kind}\x1f{value.strip().lower()}".encode()).hexdigest()


def record(
    session: Session,
    rule: str,
    action: str,
    referrer_id: str,
    invitee_id: str,
    now: datetime,
    referral_id: str | None = None,
    **data: Any,
) -> Decision:
    """Record that a rule fired, with its action and the data behind it."""
    row = Decision(
        referral_id=referral_id,
        referrer_id=referrer_id,
        invitee_id=invitee_id,
        rule=rule,
        action=action,
        data=data,
        created_at=now,
    )
    repository.add(session, row)
    return row


def check_self_referral(
    session: Session, referrer_id: str, invitee_id: str, code: str, now: datetime
) -> None:
    """Reject a customer who signs up with their own code."""
    if referrer_id == invitee_id:
        record(session, "self_referral", "reject", referrer_id, invitee_id, now, referral_code=code)
        raise Rejected(SelfReferral(user_id=invitee_id, referral_code=code))


def check_velocity(
    session: Session, program: Program, referrer_id: str, invitee_id: str, now: datetime
) -> None:
    """Reject a sign-up past the referrer's limit in the rolling window (the code row is locked)."""
    since = now - timedelta(hours=program.velocity_window_hours)
    count = repository.signups_since(session, referrer_id, since)
    if count >= program.velocity_max:
        data: dict[str, Any] = {
            "limit": program.velocity_max,
            "window_hours": program.velocity_window_hours,
            "count": count,
        }
        record(session, "velocity", "reject", referrer_id, invitee_id, now, **data)
        raise Rejected(VelocityExceeded(referrer_id=referrer_id, **data))


def shared_fingerprints(
    session: Session, referrer_id: str, invitee_id: str, hashes: dict[str, str]
) -> dict[str, list[str]]:
    """Per kind, who in the referrer's circle (the referrer and their other invitees) shares it."""
    circle = [referrer_id, *repository.invitees_of(session, referrer_id, invitee_id)]
    found: dict[str, list[str]] = {}
    for kind, value_hash in hashes.items():
        users = repository.users_with(session, kind, value_hash, circle)
        if users:
            found[kind] = users
    return found


def check_fingerprints(
    session: Session,
    program: Program,
    referrer_id: str,
    invitee_id: str,
    hashes: dict[str, str],
    now: datetime,
    referral_id: str | None,
) -> list[str]:
    """Record and return the rules (`same_device`, …) for fingerprints the circle shares.

    What follows is the program's `fingerprint_action`: the caller holds or rejects.
    """
    found = shared_fingerprints(session, referrer_id, invitee_id, hashes)
    action = program.fingerprint_action
    for kind, users in found.items():
        record(
            session, f"same_{kind}", action, referrer_id, invitee_id, now, referral_id, users=users
        )
    return [f"same_{kind}" for kind in found]


def period_start(now: datetime, zone: ZoneInfo, period: str) -> datetime:
    """Start of the calendar day, week (Monday) or month holding `now`, in the shop's zone."""
    local = now.astimezone(zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        day -= timedelta(days=local.weekday())
    elif period == "month":
        day = day.replace(day=1)
    # Rebuild from the wall-clock date so a DST shift inside the period does not move midnight.
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def referrer_capped(
    session: Session, program: Program, referral: Referral, zone: ZoneInfo, now: datetime
) -> bool:
    """Whether the referrer reached the cap of rewarded referrals this period (and record it)."""
    if program.cap_per_period is None:
        return False
    start = period_start(now, zone, program.cap_period)
    count = repository.rewarded_since(session, referral.referrer_id, start)
    if count < program.cap_per_period:
        return False
    record(
        session, "period_cap", "cap", referral.referrer_id, referral.invitee_id, now, referral.id,
        limit=program.cap_per_period, period=program.cap_period, count=count,
        period_start=start.isoformat(),
    )  # fmt: skip
    return True
