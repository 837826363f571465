"""Orders, revenue, buyers, repurchase and refunds per period, and visitors for conversion."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from tenure.analytics.kpis.periods import number, ratio

COUNTS = ("orders", "guest_orders", "customer_orders", "buyers", "repeat_buyers")
MONEY = ("gross", "refunds")


def commerce_frame(orders: ir.Table, bucket: ir.Value) -> pd.DataFrame:
    """Sufficient statistics per bucket: order counts, money, buyers and repeat buyers."""
    rows = orders.mutate(bucket=bucket)
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
    frame = base.execute().merge(repeat.execute(), on="bucket", how="left")
    return frame


def visitors_frame(visits: ir.Table, bucket: ir.Value) -> pd.DataFrame:
    """Distinct visitors per bucket."""
    rows = visits.mutate(bucket=bucket)
    return rows.group_by("bucket").aggregate(visitors=rows.visitor.nunique()).execute()


def commerce_values(row: dict[str, Any] | None, visitors: float) -> dict[str, int | float | None]:
    """The commerce metrics of one bucket from its sufficient statistics."""
    row = row or {}
    counts = {k: int(number(row.get(k))) for k in COUNTS}
    gross = number(row.get("gross"))
    refunds = -number(row.get("refunds"))  # refund documents are negative
    buyers = counts["buyers"]
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
        "visitors": int(visitors),
        "conversion": ratio(buyers, visitors),
    }


def records(frame: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Bucket -> row."""
    return {int(r["bucket"]): {str(k): v for k, v in r.items()} for r in frame.to_dict("records")}


def constant() -> ir.Value:
    """The bucket of window totals."""
    return ibis.literal(0)
