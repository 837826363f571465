"""When a campaign's audience runs next: once, or on a cron schedule in the shop's zone.

Cron here is the classic five fields (minute hour day-of-month month day-of-week) with `*`,
lists, ranges and steps; day-of-week 0 or 7 is Sunday. When both day fields are restricted,
a day matches either (as in Vixie cron).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")
LOOKAHEAD_DAYS = 366 * 5  # 29 Feb on a Monday can be years away; beyond this, never


def _field(text: str, low: int, high: int, name: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"the {name} step must be at least 1")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = int(base)
            end = high if step_text else start
        if not low <= start <= end <= high:
            raise ValueError(f"the {name} must lie in {low}-{high}")
        out.update(range(start, end + 1, step))
    return out


def parse_cron(expression: str) -> tuple[set[int], ...]:
    """The allowed values of each field, or ValueError naming the field."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError("a cron schedule has five fields: minute hour day month weekday")
    try:
        parsed = tuple(
            _field(text, low, high, name)
            for text, (low, high), name in zip(fields, _RANGES, _NAMES, strict=True)
        )
    except ValueError as exc:
        if "invalid literal" in str(exc):
            raise ValueError(f"`{expression}` is not a cron schedule") from None
        raise
    weekdays = {d % 7 for d in parsed[4]}
    return (*parsed[:4], weekdays)


def next_cron(expression: str, after: datetime, zone: ZoneInfo) -> datetime | None:
    """The first instant after `after` that the schedule names, in `zone`'s wall clock."""
    minutes, hours, days, months, weekdays = parse_cron(expression)
    fields = expression.split()
    any_day, any_weekday = fields[2] == "*", fields[4] == "*"
    local = after.astimezone(zone)
    day = local.date()
    for _ in range(LOOKAHEAD_DAYS):
        if day.month in months and _day_matches(day, days, weekdays, any_day, any_weekday):
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    if moment > local:
                        return moment.astimezone(after.tzinfo)
        day += timedelta(days=1)
    return None


def _day_matches(
    day: Any, days: set[int], weekdays: set[int], any_day: bool, any_weekday: bool
) -> bool:
    weekday = (day.weekday() + 1) % 7  # cron counts from Sunday
    if not any_day and not any_weekday:
        return day.day in days or weekday in weekdays
    return day.day in days and weekday in weekdays


# How often a trigger is scanned: events on every pass, slower sources less often.
SCAN_EVERY = {
    "event": timedelta(0),
    "lifecycle": timedelta(seconds=60),
    "segment_entry": timedelta(seconds=60),
    "date": timedelta(minutes=5),
    "holiday": timedelta(minutes=5),
    "loyalty": timedelta(seconds=60),
}


def next_run(trigger: Any, now: datetime, zone: ZoneInfo) -> datetime | None:
    """After a scan at `now`: when to scan again (none: a one-off campaign has run)."""
    if trigger.type == "recurring":
        return next_cron(trigger.cron, now, zone)
    if trigger.type == "once":
        return None
    return now + SCAN_EVERY[trigger.type]
