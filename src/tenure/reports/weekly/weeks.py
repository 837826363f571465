"""Review weeks: Monday to Sunday in the shop's zone, the same weeks as the KPI `week` period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Week:
    """A shop-local week, Monday `start` to Sunday `end` (both included)."""

    start: date

    @classmethod
    def of(cls, day: date) -> Week:
        """The week containing `day`."""
        return cls(day - timedelta(days=day.weekday()))

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def previous(self) -> Week:
        return Week(self.start - timedelta(weeks=1))

    @property
    def next(self) -> Week:
        return Week(self.start + timedelta(weeks=1))

    @property
    def last_year(self) -> Week:
        """The same ISO week a year before: 52 weeks back, so the weekdays line up."""
        return Week(self.start - timedelta(weeks=52))

    def shifted(self, weeks: int) -> Week:
        return Week(self.start + timedelta(weeks=weeks))

    def opens(self, zone: ZoneInfo) -> datetime:
        """The week's first instant (Monday 00:00 in the shop's zone)."""
        return datetime.combine(self.start, time.min, tzinfo=zone)

    def closes(self, zone: ZoneInfo) -> datetime:
        """The instant after the week (the next Monday 00:00 in the shop's zone)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone)

    def complete(self, now: datetime, zone: ZoneInfo) -> bool:
        """Whether the week is over at `now`."""
        return now >= self.closes(zone)


def last_complete(now: datetime, zone: ZoneInfo, data_until: date | None = None) -> Week:
    """The last week that is over at `now` and, when the data ends earlier (an imported history,
    a stalled feed), the last week the data covers to its Sunday."""
    today = now.astimezone(zone).date()
    anchor = today if data_until is None else min(today, data_until + timedelta(days=1))
    return Week.of(anchor).previous
