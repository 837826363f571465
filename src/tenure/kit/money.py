"""Money as integer minor units with a currency; basis points; largest-remainder splitting."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

# ISO 4217 exponents that differ from 2; every other currency has two decimals.
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3}


def exponent(currency: str) -> int:
    """Digits after the decimal point for a currency (CNY 2, JPY 0)."""
    return _EXPONENTS.get(currency.upper(), 2)


@dataclass(frozen=True, order=True)
class Money:
    """An amount in minor units (fen, cents) of one currency."""

    minor: int
    currency: str

    @classmethod
    def of(cls, amount: Decimal | str | int, currency: str) -> Money:
        """From a major-unit amount ("12.50"), rounded half-even to the currency's precision."""
        scale = Decimal(10) ** exponent(currency)
        minor = (Decimal(str(amount)) * scale).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return cls(int(minor), currency.upper())

    @property
    def amount(self) -> Decimal:
        """The major-unit amount as an exact Decimal."""
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} and {other.currency}")

    def __str__(self) -> str:
        return f"{self.amount:.{exponent(self.currency)}f} {self.currency}"


def apply_bps(minor: int, bps: int) -> int:
    """minor × bps / 10,000, rounded half-even (1,000 bps = 10 %)."""
    value = (Decimal(minor) * bps / Decimal(10_000)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(value)


def split(total: int, weights: list[int]) -> list[int]:
    """Split `total` minor units in proportion to weights; parts sum exactly (largest remainder)."""
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("weights must sum to a positive number")
    sign = -1 if total < 0 else 1
    total = abs(total)
    floors = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(floors)
    # Ties go to the earlier part, so the result is deterministic.
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * part for part in floors]
