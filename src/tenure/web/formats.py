"""Numbers, money, percentages and dates in the operator's locale and the shop's zone (Babel)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers

from tenure.kit.money import exponent

DASH = "–"


@dataclass(frozen=True)
class Formats:
    """The formatting helpers a page's template calls (`fmt.money(...)`)."""

    locale: str
    zone: ZoneInfo
    currency: str

    @property
    def babel(self) -> Locale:
        return Locale.parse(self.locale)

    def number(self, value: float | int | Decimal | None, digits: int = 0) -> str:
        if _missing(value):
            return DASH
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return numbers.format_decimal(value, format=pattern, locale=self.babel)  # type: ignore[arg-type]

    def compact(self, value: float | int | None) -> str:
        """Short forms for tiles: 1.2M, 12万."""
        if _missing(value):
            return DASH
        return numbers.format_compact_decimal(value, locale=self.babel, fraction_digits=1)  # type: ignore[arg-type]

    def percent(self, value: float | None, digits: int = 1) -> str:
        if _missing(value):
            return DASH
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return numbers.format_percent(value, format=pattern, locale=self.babel)  # type: ignore[arg-type]

    def change(self, value: float | None) -> str:
        """A signed relative change: +12.3%."""
        if _missing(value):
            return DASH
        sign = "+" if value and value > 0 else ""
        return sign + self.percent(value)

    def money(self, amount: float | Decimal | None, currency: str | None = None) -> str:
        """An amount in major units (12.50)."""
        if _missing(amount):
            return DASH
        return numbers.format_currency(amount, currency or self.currency, locale=self.babel)  # type: ignore[arg-type]

    def minor(self, amount: int | None, currency: str | None = None) -> str:
        """An amount in minor units (1250 cents)."""
        if amount is None:
            return DASH
        code = currency or self.currency
        return self.money(Decimal(amount) / (10 ** exponent(code)), code)

    def day(self, value: date | datetime | str | None) -> str:
        if value is None or value == "":
            return DASH
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return dates.format_date(value, format="medium", locale=self.babel)

    def moment(self, value: datetime | None) -> str:
        if value is None:
            return DASH
        return dates.format_datetime(value, format="short", tzinfo=self.zone, locale=self.babel)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))
