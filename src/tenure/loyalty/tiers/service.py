"""Tier qualification: upgrade at once, downgrade only at a review boundary after a grace period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.loyalty import repository
from tenure.loyalty.errors import ProgramInvalid
from tenure.loyalty.models import Account, TierEvent
from tenure.loyalty.program import Program, Tier
from tenure.loyalty.rules import local_date, local_midnight
from tenure.loyalty.tiers import repository as tier_repo


def qualifying_value(session: Session, program: Program, user_id: str, now: datetime) -> int:
    """Net spend (minor units) or net points earned in the rolling window ending now."""
    since = now - timedelta(days=program.tier_window_days)
    if program.tier_basis == "spend":
        return repository.spend_in_window(session, user_id, since, now)
    return repository.earned_points_in_window(session, user_id, since, now)


def tier_for(program: Program, value: int) -> Tier | None:
    """The highest tier whose threshold the value reaches."""
    reached = [t for t in program.tiers if t.threshold <= value]
    return reached[-1] if reached else None


def effective_tier(program: Program, account_tier: str | None) -> str | None:
    """The member's tier, or the program's entry tier (threshold 0) before any is recorded."""
    if account_tier is not None:
        return account_tier
    base = [t for t in program.tiers if t.threshold == 0]
    return base[0].code if base else None


def review_boundary(program: Program, now: datetime, zone: ZoneInfo) -> datetime:
    """Start of the current review period (month, quarter or year) in the shop's zone."""
    day = local_date(now, zone)
    if program.tier_review == "month":
        start = day.replace(day=1)
    elif program.tier_review == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    else:
        start = date(day.year, 1, 1)
    return local_midnight(start, zone)


def _change(
    session: Session, account: Account, kind: str, to: str | None, value: int, now: datetime
) -> None:
    tier_repo.add_event(
        session,
        TierEvent(
            user_id=account.user_id,
            kind=kind,
            from_tier=account.tier,
            to_tier=to,
            qualifying_value=value,
            at=now,
        ),
    )
    if to != account.tier:
        account.tier, account.tier_since = to, now
    account.tier_grace_until = None


def upgrade(session: Session, program: Program, account: Account, now: datetime) -> str | None:
    """Raise the member's tier at once if they now qualify higher; never lowers it."""
    value = qualifying_value(session, program, account.user_id, now)
    qualified = tier_for(program, value)
    code = qualified.code if qualified else None
    if program.rank(code) > program.rank(account.tier):
        _change(session, account, "upgrade", code, value, now)
    elif account.tier_grace_until is not None and program.rank(code) >= program.rank(account.tier):
        _change(session, account, "requalified", account.tier, value, now)
    return account.tier


def review(
    session: Session, program: Program, account: Account, now: datetime, zone: ZoneInfo
) -> str | None:
    """At a review boundary, start the grace period of an under-qualified member; downgrade after.

    Safe to run any number of times: the boundary and the grace end are derived from `now`.
    """
    value = qualifying_value(session, program, account.user_id, now)
    qualified = tier_for(program, value)
    code = qualified.code if qualified else None
    if program.rank(code) >= program.rank(account.tier):
        return upgrade(session, program, account, now)
    boundary = review_boundary(program, now, zone)
    if account.tier_since is not None and account.tier_since >= boundary:
        return account.tier  # reached this period: kept at least until the next boundary
    if account.tier_grace_until is None:
        grace_until = boundary + timedelta(days=program.tier_grace_days)
        tier_repo.add_event(
            session,
            TierEvent(
                user_id=account.user_id,
                kind="grace",
                from_tier=account.tier,
                to_tier=account.tier,
                qualifying_value=value,
                at=now,
            ),
        )
        account.tier_grace_until = grace_until
    if now >= account.tier_grace_until:
        _change(session, account, "downgrade", code, value, now)
    return account.tier


def set_tier(
    session: Session, program: Program, account: Account, code: str | None, now: datetime
) -> str | None:
    """An operator's manual tier assignment (kept until the next review finds it unqualified)."""
    if code is not None and program.tier(code) is None:
        raise ProgramInvalid(field="tier", reason=f"unknown tier {code}")
    value = qualifying_value(session, program, account.user_id, now)
    _change(session, account, "manual", code, value, now)
    return account.tier


def history(session: Session, user_id: str) -> list[TierEvent]:
    """A member's tier history, newest first."""
    return tier_repo.events(session, user_id)


@dataclass(frozen=True)
class TierCount:
    """Members in one tier. `name` and `threshold` are None for a code the live program no
    longer defines, `code` is None for members without any tier (no entry tier to fall into)."""

    code: str | None
    name: str | None
    threshold: int | None
    members: int
    share: float


def tier_distribution(session: Session, program: Program) -> list[TierCount]:
    """Members per tier: the program's tiers lowest first (members with no recorded tier count in
    its entry tier, as `effective_tier` says), then codes it no longer has, then no tier."""
    counts: dict[str | None, int] = {}
    for stored, members in repository.accounts_per_tier(session).items():
        code = effective_tier(program, stored)
        counts[code] = counts.get(code, 0) + members
    total = sum(counts.values())
    known = [t.code for t in program.tiers]
    retired = sorted(c for c in counts if c is not None and c not in known)
    order: list[str | None] = [*known, *retired, *([None] if None in counts else [])]
    out = []
    for code in order:
        tier = program.tier(code)
        members = counts.get(code, 0)
        out.append(
            TierCount(
                code=code,
                name=tier.name if tier else None,
                threshold=tier.threshold if tier else None,
                members=members,
                share=members / total if total else 0.0,
            )
        )
    return out
