"""Noticing a second currency: analytics never sum amounts in different currencies, but a
warehouse that holds two shops (or a spend file in the wrong currency) is worth a warning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tenure.i18n import translate
from tenure.ingest.warnings import service as warnings
from tenure.kit.time import utc_now
from tenure.storage.database import Database

# The ingestion_warnings reason for orders arriving in a currency the warehouse did not hold.
NEW_CURRENCY = "new_currency"


@dataclass(frozen=True)
class CurrencyWarning:
    """One warning: a stable code, the message, and the currencies it is about."""

    code: str
    message: str
    currencies: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form."""
        return {"code": self.code, "message": self.message, "currencies": self.currencies}


def _listed(codes: list[str]) -> str:
    return " and ".join(codes) if len(codes) <= 2 else ", ".join(codes[:-1]) + f" and {codes[-1]}"


def by_count(counts: Mapping[str, int]) -> list[str]:
    """Currency codes, most rows first (ties by code)."""
    return sorted(counts, key=lambda code: (-counts[code], code))


def new_order_currency(
    before: Mapping[str, int], after: Mapping[str, int]
) -> CurrencyWarning | None:
    """A warning when orders came in a currency not held before and several are held now."""
    if len(after) < 2 or not set(after) - set(before):
        return None
    held = by_count(after)
    listed = _listed(sorted(held))
    message = translate("import.warning.currencies", currencies=listed, main=held[0])
    return CurrencyWarning("currencies_mixed", message, held)


def spend_outside_orders(
    spend: Mapping[str, int], orders: Mapping[str, int]
) -> CurrencyWarning | None:
    """A warning when imported spend is in a currency none of the orders are in."""
    other = sorted(set(spend) - set(orders))
    if not orders or not other:
        return None
    held = by_count(orders)
    message = translate(
        "import.warning.spend_currency", spend=_listed(other), orders=_listed(held), main=held[0]
    )
    return CurrencyWarning("spend_currency", message, other)


def record_new_currency(database: Database, source: str, found: CurrencyWarning) -> None:
    """Count a second currency in `ingestion_warnings` (`tenure status`, the warnings API)."""
    example = {"currencies": ", ".join(found.currencies)}
    tally = warnings.Tally(source, NEW_CURRENCY, 1, [example])
    database.write(partial(warnings.record, tallies=[tally], at=utc_now()))
