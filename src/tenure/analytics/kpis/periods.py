"""Period arithmetic in Python (matching localtime.period_index) and period-over-period series."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from tenure.analytics.kpis.query import KpiPoint, KpiSeries, Number

_EPOCH = date(1970, 1, 1)


def index_of(day: date, period: str) -> int:
    """The running period number of a day, equal to localtime.period_index."""
    if period == "month":
        return day.year * 12 + day.month
    days = (day - _EPOCH).days
    if period == "day":
        return days
    return (days - day.weekday() + 3) // 7


def start_of(index: int, period: str) -> date:
    """The first day of a period number."""
    if period == "month":
        year, month = divmod(index - 1, 12)
        return date(year, month + 1, 1)
    if period == "day":
        return _EPOCH + timedelta(days=index)
    return _EPOCH + timedelta(days=7 * index - 3)  # Monday; 1970-01-01 was a Thursday


def end_of(index: int, period: str) -> date:
    """The last day of a period number."""
    return start_of(index + 1, period) - timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """Whole periods `first..last`; the last one observed up to `until`."""

    period: str
    first: int
    last: int
    until: date
    has_previous: bool  # whether the period before `first` was asked about (an explicit since)
    since: date | None = None  # the explicit since, kept within the plausible days

    @property
    def start(self) -> date:
        """The first day of the window."""
        return start_of(self.first, self.period)

    @property
    def lookback(self) -> date:
        """The first day of the period before the window (read for previous values)."""
        return start_of(self.first - 1, self.period)

    @property
    def indices(self) -> range:
        """The window's period numbers."""
        return range(self.first, self.last + 1)

    def days(self, index: int) -> int:
        """Observed days of a period."""
        return (min(end_of(index, self.period), self.until) - start_of(index, self.period)).days + 1

    def partial(self, index: int) -> bool:
        """Whether a period ends after `until`."""
        return end_of(index, self.period) > self.until


@dataclass(frozen=True)
class Bounds:
    """The first and last shop-local day with data."""

    first: date | None
    last: date | None

    @classmethod
    def of(cls, days: list[Any]) -> Bounds:
        """Bounds over (min, max) pairs, ignoring missing values."""
        found = [as_date(d) for d in days if d is not None and not pd.isna(d)]
        return cls(min(found), max(found)) if found else cls(None, None)


def make_window(
    period: str, since: date | None, until: date | None, bounds: Bounds, limits: tuple[date, date]
) -> Window | None:
    """The window for a query, or None when there is no data to bound it.

    The days are kept within `limits`, the days of plausible times (storage/plausible.py): a
    `since` of 0001-01-01 or an `until` of 9999-12-31 neither overflows the period arithmetic nor
    stretches a series over millennia.
    """
    first_day = since or bounds.first
    last_day = until or bounds.last
    if first_day is None or last_day is None:
        return None
    lo, hi = limits
    first_day, last_day = min(max(first_day, lo), hi), min(max(last_day, lo), hi)
    return Window(
        period=period,
        first=index_of(first_day, period),
        last=index_of(last_day, period),
        until=last_day,
        has_previous=since is not None,
        since=first_day if since is not None else None,
    )


def as_date(value: Any) -> date:
    """A date from what a backend returns for a DATE."""
    if isinstance(value, date) and not isinstance(value, pd.Timestamp):
        return value
    return pd.Timestamp(value).date()


def number(value: Any) -> float:
    """A float from a backend's Decimal, NaN or None (None and NaN are 0)."""
    if value is None or (not isinstance(value, Decimal) and pd.isna(value)):
        return 0.0
    return float(value)


def ratio(num: float, den: float, digits: int = 4) -> float | None:
    """num / den rounded, or None when the denominator is zero."""
    return round(num / den, digits) if den else None


def build_series(
    metric: str,
    values: Mapping[int, Number | None],
    window: Window,
    segment: str | None = None,
) -> KpiSeries:
    """A metric's points over the window, each with the previous period and the change."""
    points = []
    for index in window.indices:
        value = values.get(index)
        previous = values.get(index - 1) if index > window.first or window.has_previous else None
        change = None if value is None or previous is None else round(value - previous, 4)
        rate = None if change is None or not previous else round(change / previous, 4)
        points.append(
            KpiPoint(
                period=start_of(index, window.period),
                value=value,
                previous=previous,
                change=change,
                change_rate=rate,
                partial=window.partial(index),
            )
        )
    return KpiSeries(metric=metric, segment=segment, points=points)
