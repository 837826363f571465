"""The rows KPIs read: orders and visits by shop-local day, and the days the data spans."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from tenure.analytics.kpis.periods import Bounds
from tenure.kit.localtime import local_day

VISIT_TYPES = ("track", "page", "screen")


def order_days(con: BaseBackend, zone: ZoneInfo) -> ir.Table:
    """Paid orders and refund documents (guests included) with their shop-local day."""
    orders = con.table("orders").filter(lambda o: o.status.isin(["paid", "refunded"]))
    return orders.select(
        "order_id",
        "user_id",
        "ts",
        "status",
        "amount",
        "currency",
        "channel",
        day=local_day(orders.ts, zone, con.name),
    )


def visit_days(con: BaseBackend, zone: ZoneInfo) -> ir.Table:
    """Visits from the raw events (anonymous ones too): visitor id and shop-local day."""
    events = con.table("events").filter(lambda e: e.type.isin(VISIT_TYPES))
    return events.select(
        visitor=events.user_id.fill_null(events.anonymous_id),
        day=local_day(events.ts, zone, con.name),
    )


def data_bounds(con: BaseBackend, zone: ZoneInfo, spend: bool = False) -> tuple[Bounds, Bounds]:
    """The first and last shop-local day of any order or visit, and of spend when asked."""
    days = order_days(con, zone).select("day").union(visit_days(con, zone).select("day"))
    days = days.mutate(spend=ibis.literal(False))
    if spend:
        table = con.table("spend")
        days = days.union(table.select("day", spend=ibis.literal(True)), distinct=False)
    row = days.aggregate(
        lo=days.day.min(where=~days.spend),
        hi=days.day.max(where=~days.spend),
        spend_lo=days.day.min(where=days.spend),
        spend_hi=days.day.max(where=days.spend),
    ).execute()
    first = row.iloc[0]
    return Bounds.of([first["lo"], first["hi"]]), Bounds.of([first["spend_lo"], first["spend_hi"]])


def in_days(day: ir.DateValue, since: date, until: date) -> ir.BooleanValue:
    """since <= day <= until, for Python dates."""
    return (day >= ibis.literal(since, type="date")) & (day <= ibis.literal(until, type="date"))
