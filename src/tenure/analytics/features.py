"""Computed per-user features as Ibis expressions, the same on DuckDB and Spark."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import ibis.selectors as s
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.activity import user_days
from tenure.analytics.currency import CurrencyScope, currency_scope
from tenure.kit.localtime import day_number, local_day

# Features a segment rule may name, with the kind of value each one holds.
FEATURES: dict[str, str] = {
    "orders": "number",
    "revenue": "number",
    "aov": "number",
    "recency_days": "number",
    "tenure_days": "number",
    "first_order_day": "date",
    "last_order_day": "date",
    "favourite_category": "string",
    "channel": "string",
}
USER_COLUMNS: dict[str, str] = {
    "country": "string",
    "channel": "string",
    "signup_at": "date",
    "first_seen": "date",
    "birthday": "date",
}


def order_rows(con: BaseBackend, zone: ZoneInfo, as_of: date | None) -> ir.Table:
    """Paid and refund documents of known customers with their shop-local day, up to `as_of`."""
    orders = con.table("orders")
    orders = orders.filter(orders.user_id.notnull() & orders.status.isin(["paid", "refunded"]))
    orders = orders.mutate(day=local_day(orders.ts, zone, con.name))
    if as_of is not None:
        orders = orders.filter(orders.day <= as_of)
    return orders


def data_end(con: BaseBackend, zone: ZoneInfo) -> date | None:
    """The last shop-local day with an order or an event: the default 'as of'.

    For a live shop this is today; for a historical data set it is the day the data ends, so
    recency and "in the last N days" mean the same as they did then.
    """
    days = []
    for name in ("orders", "events"):
        table = con.table(name)
        value = table.filter(table.user_id.notnull()).ts.max().execute()
        if value is not None and not pd.isna(value):
            instant = pd.Timestamp(value)
            instant = instant.tz_localize("UTC") if instant.tzinfo is None else instant
            days.append(instant.tz_convert(zone).date())
    return max(days) if days else None


def order_features(
    con: BaseBackend, zone: ZoneInfo, end: date, scope: CurrencyScope | None = None
) -> ir.Table:
    """Per customer up to `end`: first/last paid order, paid orders, net revenue, AOV, recency.

    Revenue is never summed over currencies: when the orders are in several, the features are
    those of the orders in the scope's currency (default: the currency of most orders).
    """
    scope = scope or currency_scope(con)
    orders = scope.only(order_rows(con, zone, end))
    paid = orders.status == "paid"
    agg = orders.group_by("user_id").aggregate(
        first_order_at=orders.ts.min(where=paid),
        last_order_at=orders.ts.max(where=paid),
        first_order_day=orders.day.min(where=paid),
        last_order_day=orders.day.max(where=paid),
        orders=paid.cast("int64").sum(),
        revenue=orders.amount.sum(),
        first_channel=orders.channel.argmin(orders.ts, where=paid),
    )
    agg = agg.filter(agg.orders > 0)
    end_num = day_number(ibis.literal(end))
    return agg.mutate(
        aov=(agg.revenue / agg.orders).cast("decimal(18, 4)"),
        recency_days=(end_num - day_number(agg.last_order_day)).cast("int64"),
        tenure_days=(end_num - day_number(agg.first_order_day)).cast("int64"),
    )


def favourite_categories(con: BaseBackend, zone: ZoneInfo, end: date) -> ir.Table:
    """(user_id, favourite_category): the category with most units bought (ties: by name)."""
    orders = order_rows(con, zone, end).filter(lambda o: o.status == "paid")
    lines = con.table("order_lines").filter(lambda line: line.category.notnull())
    joined = lines.join(orders.select("order_id", "user_id"), "order_id")
    per = joined.group_by(["user_id", "category"]).aggregate(units=joined.quantity.sum())
    rank = ibis.row_number().over(
        group_by=per.user_id, order_by=[ibis.desc(per.units), per.category]
    )
    best = per.mutate(_rank=rank).filter(lambda t: t._rank == 0)
    return best.select("user_id", favourite_category=best.category)


def people(con: BaseBackend, zone: ZoneInfo) -> ir.Table:
    """Every known user id: the users table and everyone with an order or an event."""
    users = con.table("users").select("user_id")
    active = user_days(con, zone).select("user_id")
    return users.union(active, distinct=True)


def profile_table(con: BaseBackend, zone: ZoneInfo, end: date) -> ir.Table:
    """One row per known user: user columns, attributes JSON and the computed features."""
    users = con.table("users")
    base = people(con, zone).left_join(
        users.select(
            "user_id",
            "country",
            "signup_at",
            "first_seen",
            "birthday",
            "attributes",
            user_channel=users.channel,
        ),
        "user_id",
    )
    base = base.select(~s.endswith("_right"))
    feats = order_features(con, zone, end)
    joined = base.left_join(feats, "user_id").select(~s.endswith("_right"))
    joined = joined.left_join(favourite_categories(con, zone, end), "user_id")
    joined = joined.select(~s.endswith("_right"))
    return joined.mutate(
        channel=joined.user_channel.fill_null(joined.first_channel),
        orders=joined.orders.fill_null(0),
        revenue=joined.revenue.fill_null(0),
    )
