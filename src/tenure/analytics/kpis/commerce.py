"""Orders, revenue, buyers, repurchase and refunds per period, and visitors for conversion."""

from __future__ import annotations

from collections.abc import Mapping

import ibis.expr.types as ir

from tenure.analytics.kpis.periods import ratio
from tenure.analytics.kpis.sources import longer

STATS = (
    "orders",
    "guest_orders",
    "customer_orders",
    "gross",
    "refunds",
    "buyers",
    "repeat_buyers",
    "visitors",
)


def commerce_parts(
    orders: ir.Table, visits: ir.Table, order_bucket: ir.Value, visit_bucket: ir.Value, prefix: str
) -> list[ir.Table]:
    """Sufficient statistics per bucket as stacked (stat, key, value) rows, stats `prefix`ed."""
    rows = orders.mutate(bucket=order_bucket)
    paid = rows.status == "paid"
    customer = rows.user_id.notnull()
    base = rows.group_by("bucket").aggregate(
        orders=paid.cast("int64").sum(),
        guest_orders=(paid & ~customer).cast("int64").sum(),
        customer_orders=(paid & customer).cast("int64").sum(),
        gross=rows.amount.sum(where=paid),
        refunds=rows.amount.sum(where=rows.status == "refunded"),
        # Guests have no user_id, and nunique ignores NULL: they are never buyers.
        buyers=rows.user_id.nunique(where=paid),
    )
    per_buyer = rows.filter(paid & customer)
    per_buyer = per_buyer.group_by(["bucket", "user_id"]).aggregate(n=per_buyer.count())
    repeat = per_buyer.group_by("bucket").aggregate(
        repeat_buyers=(per_buyer.n >= 2).cast("int64").sum()
    )
    seen = visits.mutate(bucket=visit_bucket)
    seen = seen.group_by("bucket").aggregate(visitors=seen.visitor.nunique())
    names = ("orders", "guest_orders", "customer_orders", "gross", "refunds", "buyers")
    return [
        longer(base, base.bucket, {prefix + n: base[n].fill_null(0) for n in names}),
        longer(repeat, repeat.bucket, {prefix + "repeat_buyers": repeat.repeat_buyers}),
        longer(seen, seen.bucket, {prefix + "visitors": seen.visitors}),
    ]


def commerce_values(stats: Mapping[str, float]) -> dict[str, int | float | None]:
    """The commerce metrics of one bucket from its sufficient statistics."""
    counts = {k: int(stats.get(k, 0)) for k in STATS if k not in ("gross", "refunds")}
    gross = stats.get("gross", 0.0)
    refunds = -stats.get("refunds", 0.0)  # refund documents are negative
    buyers, visitors = counts["buyers"], counts["visitors"]
    return {
        "orders": counts["orders"],
        "guest_orders": counts["guest_orders"],
        "revenue": round(gross - refunds, 4),
        "gross_revenue": round(gross, 4),
        "refunds": round(refunds, 4),
        "buyers": buyers,
        "repeat_buyers": counts["repeat_buyers"],
        "aov": ratio(gross, counts["orders"]),
        "purchase_frequency": ratio(counts["customer_orders"], buyers),
        "repurchase_rate": ratio(counts["repeat_buyers"], buyers),
        "refund_rate": ratio(refunds, gross),
        "visitors": visitors,
        "conversion": ratio(buyers, visitors),
    }
