"""Which currency money figures are in: amounts in different currencies are never summed.

A warehouse normally holds one shop in one currency, and then nothing here changes a query: the
stored rollups answer as before. When its orders are in several currencies (two shops loaded
into one TENURE_HOME, or a shop that sells in two), every money figure is computed for one
currency: the one asked for, else the currency of most paid and refunded orders. The result
names it (`currency`) and counts the orders left out in each other currency (`left_out_orders`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend
from pydantic import BaseModel, Field, StringConstraints

from tenure.analytics.activity import user_days
from tenure.analytics.base import InvalidQuery
from tenure.kit.localtime import local_day

MONEY_STATUSES = ("paid", "refunded")
# The `currency` of a query: an ISO 4217 code, upper-cased.
CurrencyCode = Annotated[str, StringConstraints(pattern="^[A-Za-z]{3}$", to_upper=True)]
CURRENCY_HELP = (
    "The currency of the money figures when the orders are in several (ISO 4217 code); "
    "default: the currency of most orders."
)


class CurrencyFields(BaseModel):
    """What a result with money figures says about currencies."""

    currency: str | None = Field(
        default=None, description="The currency of every money figure (None: no orders)."
    )
    left_out_orders: dict[str, int] = Field(
        default_factory=dict,
        description="Paid and refunded orders in each other currency, left out of the money "
        "figures and of the order counts that go with them. Empty for a one-currency shop.",
    )


@dataclass(frozen=True)
class CurrencyScope:
    """The currency money figures are in, and the currencies the orders are in.

    `held` lists the currencies of paid and refunded orders, most orders first; `counts` gives
    each one's orders when there are several (a one-currency warehouse is never counted).
    """

    currency: str | None
    held: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def mixed(self) -> bool:
        """Whether the warehouse holds orders in more than one currency."""
        return len(self.held) > 1

    @property
    def left_out(self) -> dict[str, int]:
        """Orders per other currency."""
        return {c: self.counts.get(c, 0) for c in self.held if c != self.currency}

    def fields(self) -> dict[str, object]:
        """The CurrencyFields of a result."""
        return {"currency": self.currency, "left_out_orders": self.left_out}

    def only(self, table: ir.Table) -> ir.Table:
        """The rows of a table with a `currency` column in this scope's currency.

        A one-currency warehouse keeps every row (no filter, so no change in speed).
        """
        if not self.mixed:
            return table
        return table.filter(table.currency == self.currency)


def held_currencies(con: BaseBackend) -> dict[str, int]:
    """Paid and refunded orders per currency, most first (ties by code)."""
    orders = con.table("orders")
    orders = orders.filter(orders.status.isin(MONEY_STATUSES) & orders.currency.notnull())
    frame = orders.group_by("currency").aggregate(n=orders.count()).execute()
    pairs = [(str(c), int(n)) for c, n in zip(frame["currency"], frame["n"], strict=True)]
    return dict(sorted(pairs, key=lambda p: (-p[1], p[0])))


def _held(con: BaseBackend) -> tuple[tuple[str, ...], dict[str, int]]:
    """The currencies held and, when there are several, their orders.

    The common case, one currency, costs a min and a max over one column; only a warehouse
    whose orders show two codes is counted per currency.
    """
    orders = con.table("orders")
    row = orders.aggregate(lo=orders.currency.min(), hi=orders.currency.max()).execute()
    lo, hi = row["lo"].iloc[0], row["hi"].iloc[0]
    if lo is None or pd.isna(lo):
        return (), {}
    if lo == hi:
        return (str(lo),), {}
    counts = held_currencies(con)
    return tuple(counts), counts if len(counts) > 1 else {}


def currency_scope(con: BaseBackend, wanted: str | None = None) -> CurrencyScope:
    """The scope of a query: `wanted`, else the currency of most orders.

    Asking for a currency the warehouse holds no orders in is a query error naming the ones it
    holds (an empty warehouse answers any currency, with nothing in it).
    """
    held, counts = _held(con)
    if wanted:
        code = wanted.upper()
        if held and code not in held:
            raise InvalidQuery(
                field="currency", reason=f"names {code}, but the orders are in {', '.join(held)}"
            )
        return CurrencyScope(code, held, counts)
    return CurrencyScope(held[0] if held else None, held, counts)


def money_days(con: BaseBackend, zone: ZoneInfo, scope: CurrencyScope) -> ir.Table:
    """user_days for money: per customer and shop-local day, paid orders and net revenue.

    One currency: the stored user_days rollup (or its live twin). Several: the same columns
    computed from the scope's orders only (the rollups carry no currency); `events` is 0.
    """
    if not scope.mixed:
        return user_days(con, zone)
    orders = scope.only(con.table("orders"))
    orders = orders.filter(orders.user_id.notnull() & orders.status.isin(MONEY_STATUSES))
    rows = orders.select(
        "user_id",
        day=local_day(orders.ts, zone, con.name),
        paid=ibis.ifelse(orders.status == "paid", 1, 0),
        amount=orders.amount,
    )
    days = rows.group_by(["user_id", "day"]).aggregate(
        orders=rows.paid.sum().cast("int64"), revenue=rows.amount.sum()
    )
    return days.mutate(events=ibis.literal(0, "int64")).select(
        "user_id", "day", "orders", "events", "revenue"
    )
