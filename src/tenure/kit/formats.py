"""Numbers, money, percentages and dates for people, in a locale (Babel) and the shop's zone.

One formatter for the console's pages and the weekly review (e-mail, PDF, CLI). Babel's parsed
patterns and locales are cached: parsing them on every call cost a busy table 180 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.numbers import NumberPattern

from tenure.i18n import translate
from tenure.kit.money import exponent

DASH = "–"
Number = float | int | Decimal


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


@lru_cache(maxsize=16)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@lru_cache(maxsize=64)
def _pattern(text: str) -> NumberPattern:
    return numbers.parse_pattern(text)


def _decimals(digits: int) -> str:
    return "#,##0" + ("." + "0" * digits if digits else "")


@dataclass(frozen=True)
class Formats:
    """What templates call as `fmt.number(…)`, `fmt.money(…)`, `fmt.day(…)` …"""

    locale: str
    currency: str
    zone: ZoneInfo = field(default=UTC)  # type: ignore[assignment]

    @property
    def babel(self) -> Locale:
        return _locale(self.locale)

    def number(self, value: Number | None, digits: int = 0) -> str:
        if _missing(value):
            return DASH
        return _pattern(_decimals(digits)).apply(value, self.babel)  # type: ignore[arg-type]

    def signed(self, value: Number | None, digits: int = 0) -> str:
        """A signed count: +12, −3."""
        if value is None or _missing(value):
            return DASH
        text = self.number(-value if value < 0 else value, digits)
        return ("+" if value > 0 else "−" if value < 0 else "") + text

    def compact(self, value: Number | None) -> str:
        """Short forms for tiles: 1.2M, 12万."""
        if _missing(value):
            return DASH
        return numbers.format_compact_decimal(value, locale=self.babel, fraction_digits=1)  # type: ignore[arg-type]

    def percent(self, value: float | None, digits: int = 1) -> str:
        if _missing(value):
            return DASH
        return _pattern(_decimals(digits) + "%").apply(value, self.babel)  # type: ignore[arg-type]

    def change(self, value: float | None) -> str:
        """A signed relative change: +12.3%."""
        if value is None or _missing(value):
            return DASH
        return ("+" if value > 0 else "") + self.percent(value)

    def points(self, value: float | None) -> str:
        """A change of a rate in percentage points: +1.2 pp."""
        if value is None or _missing(value):
            return DASH
        shown = ("+" if value > 0 else "") + self.number(value * 100, 1)
        return translate("review.unit.points", locale=self.locale, value=shown)

    def money(self, amount: Number | None, currency: str | None = None) -> str:
        """An amount in major units (12.50)."""
        if _missing(amount):
            return DASH
        code = currency or self.currency
        pattern = _pattern(self.babel.currency_formats["standard"].pattern)
        return pattern.apply(amount, self.babel, currency=code)  # type: ignore[arg-type]

    def minor(self, amount: int | None, currency: str | None = None) -> str:
        """An amount in minor units (1250 cents)."""
        if amount is None:
            return DASH
        code = currency or self.currency
        return self.money(Decimal(amount) / (10 ** exponent(code)), code)

    def day(self, value: date | datetime | str | None) -> str:
        """A calendar day; a moment is first put in the shop's zone."""
        if value is None or value == "":
            return DASH
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return dates.format_date(value, format="medium", locale=self.babel)

    def short_day(self, value: date | None) -> str:
        """Month and day only (cohort labels)."""
        if value is None:
            return DASH
        return dates.format_skeleton("MMMd", value, locale=self.babel)

    def week(self, start: date, end: date) -> str:
        """A week as a date range: Aug 12 – 18, 2024."""
        return dates.format_interval(start, end, "yMMMd", locale=self.babel)

    def moment(self, value: datetime | None) -> str:
        """A date and time in the shop's zone."""
        if value is None:
            return DASH
        return dates.format_datetime(value, format="short", tzinfo=self.zone, locale=self.babel)
