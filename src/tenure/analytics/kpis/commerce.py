"""Orders, revenue, buyers, repurchase and refunds per period, and visitors for conversion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from tenure.analytics.kpis.periods import Window, number, ratio
from tenure.kit.localtime import period_index

TOTAL = "total"  # the scope of the window-wide figures, beside each period's


def _scoped(rows: ir.Table, window: Window) -> ir.Table:
    """Every row under its period, and the window's rows once more under the `total` scope."""
    periods = rows.mutate(
        scope=ibis.literal("period"), bucket=period_index(rows.day, window.period).cast("int64")
    )
    inside = rows.filter(rows.day >= window.start)
    total = inside.mutate(scope=ibis.literal(TOTAL), bucket=ibis.literal(0).cast("int64"))
    return periods.union(total, distinct=False)


def order_stats(orders: ir.Table, window: Window) -> ir.Table:
    """Sufficient statistics per (scope, bucket), aggregated per customer first.

    All guest orders of a bucket share the NULL user_id group: they count in orders and money,
    never as buyers.
    """
    rows = _scoped(orders, window)
    paid = rows.status == "paid"
    per_user = rows.group_by(["scope", "bucket", "user_id"]).aggregate(
        paid=ibis.ifelse(paid, 1, 0).sum(),
        gross=rows.amount.sum(where=paid),
        refunds=rows.amount.sum(where=rows.status == "refunded"),
    )
    customer = per_user.user_id.notnull()
    return per_user.group_by(["scope", "bucket"]).aggregate(
        orders=per_user.paid.sum(),
        guest_orders=per_user.paid.sum(where=~customer),
        customer_orders=per_user.paid.sum(where=customer),
        gross=per_user.gross.sum(),
        refunds=per_user.refunds.sum(),
        buyers=ibis.ifelse(customer & (per_user.paid > 0), 1, 0).sum(),
        repeat_buyers=ibis.ifelse(customer & (per_user.paid >= 2), 1, 0).sum(),
    )


def visitor_stats(visits: ir.Table, window: Window) -> ir.Table:
    """Distinct visitors per (scope, bucket)."""
    rows = _scoped(visits, window)
    return rows.group_by(["scope", "bucket"]).aggregate(visitors=rows.visitor.nunique())


def by_bucket(*frames: pd.DataFrame) -> dict[tuple[str, int], dict[str, float]]:
    """(scope, bucket) -> statistic -> value, merged over frames."""
    out: dict[tuple[str, int], dict[str, float]] = {}
    for frame in frames:
        for rec in frame.to_dict("records"):
            key = (str(rec.pop("scope")), int(rec.pop("bucket")))
            out.setdefault(key, {}).update({str(k): number(v) for k, v in rec.items()})
    return out


def commerce_values(stats: Mapping[str, Any]) -> dict[str, int | float | None]:
    """The commerce metrics of one bucket from its sufficient statistics."""
    count = {k: int(stats.get(k, 0)) for k in ("orders", "customer_orders", "buyers", "visitors")}
    gross = stats.get("gross", 0.0)
    refunds = -stats.get("refunds", 0.0)  # refund documents are negative
    buyers, repeat = count["buyers"], int(stats.get("repeat_buyers", 0))
    return {
        "orders": count["orders"],
        "guest_orders": int(stats.get("guest_orders", 0)),
        "revenue": round(gross - refunds, 4),
        "gross_revenue": round(gross, 4),
        "refunds": round(refunds, 4),
        "buyers": buyers,
        "repeat_buyers": repeat,
        "aov": ratio(gross, count["orders"]),
        "purchase_frequency": ratio(count["customer_orders"], buyers),
        "repurchase_rate": ratio(repeat, buyers),
        "refund_rate": ratio(refunds, gross),
        "visitors": count["visitors"],
        "conversion": ratio(buyers, count["visitors"]),
    }
