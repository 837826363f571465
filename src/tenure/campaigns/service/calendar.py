"""The shop calendar in the database: seeded with the zh-CN commerce calendar, then editable."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from tenure.campaigns import repository
from tenure.campaigns.calendar import Holiday as Day
from tenure.campaigns.calendar import seed_holidays
from tenure.campaigns.models import Holiday


def days(session: Session) -> list[Holiday]:
    """Every day of the calendar; the seed is written on first use."""
    rows = repository.holidays(session)
    if rows:
        return rows
    seeded = [
        Holiday(key=h.key, day=h.day, name_en=h.name_en, name_zh=h.name_zh) for h in seed_holidays()
    ]
    repository.add(session, *seeded)
    return seeded


def holiday_days(session: Session, key: str) -> set[date]:
    """The days a holiday falls on (as seeded or edited); reads the seed when nothing is saved."""
    rows = repository.holidays(session)
    if not rows:
        return {h.day for h in seed_holidays() if h.key == key}
    return {r.day for r in rows if r.key == key}


def set_day(session: Session, key: str, day: date, name_en: str, name_zh: str) -> Holiday:
    """Add a day to the calendar (a shop's own member day, a moved sale)."""
    days(session)
    row = repository.holiday(session, key, day)
    if row is None:
        row = Holiday(key=key, day=day, name_en=name_en, name_zh=name_zh)
        repository.add(session, row)
    else:
        row.name_en, row.name_zh = name_en, name_zh
    return row


def between(session: Session, first: date, last: date) -> list[Day]:
    """The calendar's days from `first` to `last` (inclusive), by day then key, as saved, or the
    seed when nothing is saved yet. Unlike `days`, it never writes: pages read it."""
    rows = repository.holidays(session)
    found = (
        [Day(key=r.key, day=r.day, name_en=r.name_en, name_zh=r.name_zh) for r in rows]
        if rows
        else seed_holidays()
    )
    return [d for d in found if first <= d.day <= last]
