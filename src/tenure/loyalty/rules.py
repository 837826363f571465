"""Earning rules: points for an order (× multipliers), action caps, calendar periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.loyalty import repository
from tenure.loyalty.errors import ActionUnknown, EarnCapReached
from tenure.loyalty.program import Period, Plan, Program

BASE_BPS = 10_000


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local calendar day starts in the shop's zone."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def local_date(at: datetime, zone: ZoneInfo) -> date:
    """The shop-local calendar day of an instant."""
    return at.astimezone(zone).date()


def period_start(at: datetime, zone: ZoneInfo, period: Period) -> datetime | None:
    """Start (UTC) of the local calendar period containing `at`; None for `lifetime`."""
    day = local_date(at, zone)
    if period == "lifetime":
        return None
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    elif period == "year":
        day = day.replace(month=1, day=1)
    return local_midnight(day, zone)


def is_member_day(program: Program, at: datetime, zone: ZoneInfo) -> bool:
    """Whether `at` falls on a member day in the shop's zone."""
    md = program.member_day
    if md is None:
        return False
    day = local_date(at, zone)
    return day.day in md.days_of_month or day.weekday() in md.weekdays


@dataclass(frozen=True)
class Multiplier:
    """The earning multiplier and where it comes from (basis points; 10,000 = 1×)."""

    bps: int
    tier_bps: int
    member_day_bps: int
    membership_bps: int


def multiplier(
    program: Program, tier: str | None, plan: Plan | None, at: datetime, zone: ZoneInfo
) -> Multiplier:
    """Bonuses add up: a 1.5× tier on a 2× member day earns 2.5×, not 3×."""
    found = program.tier(tier)
    tier_bps = found.multiplier_bps if found else BASE_BPS
    day_bps = (
        program.member_day.multiplier_bps
        if program.member_day and is_member_day(program, at, zone)
        else BASE_BPS
    )
    plan_bps = plan.multiplier_bps if plan else BASE_BPS
    total = BASE_BPS + (tier_bps - BASE_BPS) + (day_bps - BASE_BPS) + (plan_bps - BASE_BPS)
    return Multiplier(max(total, 0), tier_bps, day_bps, plan_bps)


def order_points(program: Program, amount_minor: int, bps: int) -> int:
    """Points for an amount: whole points, rounded down (never pays a fraction)."""
    return (amount_minor * program.earn_points_per_unit * bps) // (program.scale * BASE_BPS)


def points_to_discount(program: Program, points: int) -> int:
    """The discount (minor units) that `points` buy, rounded down."""
    return points * program.scale // program.redeem_points_per_unit


def discount_to_points(program: Program, discount_minor: int) -> int:
    """The fewest points that buy `discount_minor` (rounded up)."""
    return -(-discount_minor * program.redeem_points_per_unit // program.scale)


def action_points(
    session: Session,
    program: Program,
    user_id: str,
    action: str,
    now: datetime,
    zone: ZoneInfo,
    extra: int = 0,
) -> int:
    """Points an action pays now after its caps; raises when a cap stops it entirely."""
    rule = program.actions.get(action)
    if rule is None:
        raise ActionUnknown(action=action, known=", ".join(sorted(program.actions)))
    reason = f"action:{action}"
    day_start = period_start(now, zone, "day")
    if rule.max_per_day is not None:
        count, _ = repository.earn_stats(session, user_id, reason, day_start, now + _EPS)
        if count >= rule.max_per_day:
            raise EarnCapReached(action=action, cap=rule.max_per_day, period="day", count=count)
    if rule.max_per_period is not None:
        since = period_start(now, zone, rule.period)
        count, _ = repository.earn_stats(session, user_id, reason, since, now + _EPS)
        if count >= rule.max_per_period:
            raise EarnCapReached(
                action=action, cap=rule.max_per_period, period=rule.period, count=count
            )
    points = rule.points + extra
    if program.daily_action_points_cap is not None:
        _, earned = repository.earn_stats(session, user_id, "action:", day_start, now + _EPS)
        points = min(points, program.daily_action_points_cap - earned)
        if points <= 0:
            raise EarnCapReached(
                action=action, cap=program.daily_action_points_cap, period="day", count=earned
            )
    return points


_EPS = timedelta(microseconds=1)
