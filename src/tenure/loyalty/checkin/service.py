"""Check in once per local day; consecutive days build a streak that climbs the reward ladder."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.loyalty import repository
from tenure.loyalty.checkin import repository as checkins
from tenure.loyalty.errors import CheckinAlreadyDone
from tenure.loyalty.ledger import book
from tenure.loyalty.models import Checkin
from tenure.loyalty.points import expiry_for, open_account
from tenure.loyalty.program import Program
from tenure.loyalty.rules import local_date


def ladder_points(program: Program, streak: int) -> int:
    """Points for day `streak` of a streak (cycling or holding at the last step)."""
    ladder = program.checkin_ladder
    index = (streak - 1) % len(ladder) if program.checkin_cycle else min(streak, len(ladder)) - 1
    return ladder[index]


def check_in(
    session: Session, program: Program, zone: ZoneInfo, user_id: str, now: datetime
) -> Checkin:
    """Record today's check-in and award the ladder's points; 409 if already done today."""
    open_account(session, user_id, now)
    today = local_date(now, zone)
    done = checkins.on_day(session, user_id, today)
    if done is not None:
        raise CheckinAlreadyDone(date=today.isoformat(), streak=done.streak, points=done.points)
    yesterday = checkins.on_day(session, user_id, today - timedelta(days=1))
    streak = yesterday.streak + 1 if yesterday else 1
    points = ladder_points(program, streak)
    tx_id = None
    if points > 0:
        key = f"checkin:{user_id}:{today.isoformat()}"
        tx = book.earn(
            session,
            user_id,
            points,
            reason="checkin",
            key=key,
            fingerprint=key,
            now=now,
            expires_at=expiry_for(program, now),
        )
        tx_id = tx.id
    row = Checkin(
        user_id=user_id,
        local_date=today,
        streak=streak,
        points=points,
        transaction_id=tx_id,
        created_at=now,
    )
    repository.add(session, row)
    return row


@dataclass(frozen=True)
class Calendar:
    """A month of check-ins in the shop's zone, the live streak and tomorrow's reward."""

    year: int
    month: int
    days: list[dict[str, object]]
    today: date
    checked_in_today: bool
    streak: int
    next_points: int


def month_calendar(
    session: Session,
    program: Program,
    zone: ZoneInfo,
    user_id: str,
    now: datetime,
    year: int | None = None,
    month: int | None = None,
) -> Calendar:
    """The calendar of one month (default: the current local month)."""
    today = local_date(now, zone)
    year, month = year or today.year, month or today.month
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    found = {c.local_date: c for c in checkins.between(session, user_id, first, last)}
    days = [
        {
            "date": (first + timedelta(days=i)).isoformat(),
            "checked_in": (first + timedelta(days=i)) in found,
            "points": found[first + timedelta(days=i)].points
            if (first + timedelta(days=i)) in found
            else 0,
        }
        for i in range(last.day)
    ]
    latest = checkins.on_day(session, user_id, today) or checkins.on_day(
        session, user_id, today - timedelta(days=1)
    )
    streak = latest.streak if latest else 0
    done_today = latest is not None and latest.local_date == today
    upcoming = streak + 1
    return Calendar(year, month, days, today, done_today, streak, ladder_points(program, upcoming))
