"""Historical LTV by monthly first-order cohort: cumulative net revenue per customer."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import ibis.expr.types as ir

from tenure.analytics.kpis.periods import index_of, number, start_of
from tenure.analytics.kpis.query import LtvCohort
from tenure.analytics.kpis.sources import in_days
from tenure.kit.localtime import period_index


def first_orders(days: ir.Table) -> ir.Table:
    """user_id -> the shop-local day of the user's first paid order (customers only)."""
    orders = days.filter(days.orders > 0)
    return orders.group_by("user_id").aggregate(first_day=orders.day.min())


def money_days(days: ir.Table) -> ir.Table:
    """Per user and day with paid orders or refunds: the net revenue."""
    return days.filter(days.revenue.notnull()).select("user_id", "day", "revenue")


def cohort_ltv(days: ir.Table, since: date, until: date, months: int) -> list[LtvCohort]:
    """Cohorts whose first paid order lies in [since, until], followed up to `until`.

    `days` is the user_days rollup. Offsets are calendar months since the first order's month;
    the LTV at offset k is the cohort's net revenue (paid orders and refunds) in months 0..k
    divided by its size.
    """
    first = first_orders(days)
    first = first.filter(in_days(first.first_day, since, until))
    first = first.mutate(cidx=period_index(first.first_day, "month"))
    money = money_days(days)
    money = money.filter(money.day <= until)
    joined = first.join(money, "user_id")
    joined = joined.mutate(offset=period_index(joined.day, "month") - joined.cidx)
    joined = joined.filter((joined.offset >= 0) & (joined.offset <= months))
    # Every customer has a paid order at offset 0, so its users there are the cohort.
    cells = joined.group_by(["cidx", "offset"]).aggregate(
        revenue=joined.revenue.sum(), users=joined.user_id.nunique()
    )
    frame = cells.execute()
    sizes = {int(r["cidx"]): int(r["users"]) for r in frame.to_dict("records") if r["offset"] == 0}

    by_cohort: dict[int, dict[int, float]] = defaultdict(dict)
    for rec in frame.to_dict("records"):
        by_cohort[int(rec["cidx"])][int(rec["offset"])] = number(rec["revenue"])
    end = index_of(until, "month")
    cohorts = []
    for cidx, size in sorted(sizes.items()):
        observed = min(months, end - cidx)
        amounts = [round(by_cohort[cidx].get(k, 0.0), 4) for k in range(observed + 1)]
        running, ltv = 0.0, []
        for amount in amounts:
            running += amount
            ltv.append(round(running / size, 4))
        cohorts.append(
            LtvCohort(cohort=start_of(cidx, "month"), customers=size, revenue=amounts, ltv=ltv)
        )
    return cohorts
