"""Churn features and labels as Ibis expressions with a strict time cut-off (DuckDB and Spark).

Every feature of a customer at cut-off T reads only rows with ts < T; the label reads only
(T, T + horizon]. T is the end of a shop-local day, so "as of 2024-03-31" means everything
up to that day's midnight in the shop's zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from tenure.analytics.currency import currency_scope
from tenure.kit.localtime import local_day

DAY_S = 86_400.0
# Funnel stages reached in a session-like window: a higher stage means closer to buying.
FUNNEL_STAGES = {"Product Viewed": 1, "Product Added": 2, "Checkout Started": 3}
COUPON_PATTERN = r'"coupon(_code)?"\s*:\s*"[^"]+'
EVENT_LOOKBACK_DAYS = 180

# Columns handed to the model (the rest are keys and raw inputs of the BG/NBD features).
NUMERIC_FEATURES = (
    "recency_days",
    "tenure_days",
    "orders",
    "order_days",
    "orders_30d",
    "orders_90d",
    "orders_180d",
    "order_rate",
    "order_trend",
    "revenue",
    "revenue_90d",
    "avg_order_value",
    "gap_mean_days",
    "gap_std_days",
    "gap_max_days",
    "last_gap_days",
    "overdue_ratio",
    "refunds",
    "refund_share",
    "coupon_share",
    "events_30d",
    "events_prev_30d",
    "activity_trend",
    "event_recency_days",
    "funnel_stage_30d",
    "checkouts_30d",
)
CATEGORICAL_FEATURES = ("channel",)


def cutoff_instant(day: date, zone: ZoneInfo) -> datetime:
    """The end of a shop-local day as an aware UTC instant (the next local midnight)."""
    local = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    return local.astimezone(ZoneInfo("UTC"))


def _days_before(ts: ir.TimestampValue, cutoff: datetime) -> ir.FloatingValue:
    """Days from `ts` to the cut-off, as a float."""
    return (ibis.literal(cutoff.timestamp()) - ts.epoch_seconds().cast("float64")) / DAY_S


def _count_if(condition: ir.BooleanValue) -> ir.IntegerValue:
    return condition.ifelse(1, 0).sum()


def _ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num / den, null when den is 0 or null."""
    return num.cast("float64") / (den.cast("float64").nullif(0.0))


def _orders_before(con: BaseBackend, cutoff: datetime) -> ir.Table:
    orders = con.table("orders")
    return orders.filter(orders.user_id.notnull() & (orders.ts < cutoff))


def _purchases(
    con: BaseBackend, cutoff: datetime, zone: ZoneInfo, currency: str | None = None
) -> ir.Table:
    """Recency, frequency, spend and inter-purchase statistics of paid orders before T.

    Amounts in different currencies are never summed: with `currency` (a warehouse holding
    several), the money features (revenue, revenue_90d and the `_money_orders` that
    avg_order_value divides by) read only that currency's orders, while the counts, recency and
    gaps read every paid order, since an order is a sign of life whatever it was paid in.
    Without it (one currency) every order counts, exactly as before.

    Every aggregate is exact or order-free (decimal and integer sums, min, max, counts), so the
    features do not depend on the order the engine reads rows in: a float sum over a parallel
    scan differs in its last bits from run to run, which was enough to change LightGBM's bins.
    """
    paid = _orders_before(con, cutoff)
    paid = paid.filter(paid.status == "paid")
    before = _days_before(paid.ts, cutoff)
    w = ibis.window(group_by=paid.user_id, order_by=[paid.ts, paid.order_id])
    seconds = paid.ts.epoch_seconds().cast("int64")
    # Whole seconds between an order and the previous one (ties broken by order id).
    gap = seconds - seconds.lag().over(w)
    coupon = paid.properties.fill_null("").re_search(COUPON_PATTERN)
    rows = paid.mutate(
        _before=before,
        _gap=gap,
        _seq=ibis.row_number().over(w),
        _coupon=coupon.ifelse(1, 0),
        _day=local_day(paid.ts, zone, con.name).epoch_days(),
    )
    if currency is None:
        money, money_orders = rows.amount, rows.count()
    else:
        in_scope = rows.currency == currency
        money, money_orders = in_scope.ifelse(rows.amount, 0), _count_if(in_scope)
    stats = rows.group_by("user_id").aggregate(
        recency_days=rows._before.min(),
        tenure_days=rows._before.max(),
        orders=rows.count(),
        order_days=rows._day.nunique(),
        first_day=rows._day.min(),
        last_day=rows._day.max(),
        orders_30d=_count_if(rows._before <= 30),
        orders_90d=_count_if(rows._before <= 90),
        orders_180d=_count_if(rows._before <= 180),
        revenue=money.sum().cast("float64"),
        revenue_90d=(rows._before <= 90).ifelse(money, 0).sum().cast("float64"),
        _money_orders=money_orders,
        _gaps=rows._gap.count(),
        _gap_sum=rows._gap.sum(),
        _gap_squares=(rows._gap * rows._gap).sum(),
        gap_max_days=rows._gap.max().cast("float64") / DAY_S,
        # The gap before the last order (the one with the highest sequence number).
        last_gap_days=rows._gap.argmax(rows._seq).cast("float64") / DAY_S,
        coupon_orders=rows._coupon.sum(),
    )
    n = stats._gaps.cast("float64")
    total = stats._gap_sum.cast("float64")
    # Sample variance from exact integer sums; the sum of squared gaps is at most the squared
    # span of the history, far inside int64.
    variance = (stats._gap_squares.cast("float64") - total * total / n.nullif(0.0)) / (
        n - 1.0
    ).nullif(0.0)
    return stats.mutate(
        gap_mean_days=total / n.nullif(0.0) / DAY_S,
        # Rounding can leave a zero variance a hair below 0; greatest() would turn null into 0.
        gap_std_days=(variance < 0.0).ifelse(0.0, variance).sqrt() / DAY_S,
    ).drop("_gaps", "_gap_sum", "_gap_squares")


def _refunds(con: BaseBackend, cutoff: datetime) -> ir.Table:
    orders = _orders_before(con, cutoff)
    refunded = orders.filter(orders.status == "refunded")
    return refunded.group_by("user_id").aggregate(refunds=refunded.count())


def _activity(con: BaseBackend, cutoff: datetime) -> ir.Table:
    """Event counts of the last 30 days and the 30 before, funnel stage reached, last event."""
    events = con.table("events")
    start = cutoff - timedelta(days=EVENT_LOOKBACK_DAYS)
    events = events.filter(events.user_id.notnull() & (events.ts < cutoff) & (events.ts >= start))
    before = _days_before(events.ts, cutoff)
    stage = events.name.cases(*FUNNEL_STAGES.items(), else_=0)
    recent = before <= 30
    rows = events.mutate(_before=before, _stage=stage, _recent=recent)
    return rows.group_by("user_id").aggregate(
        events_30d=_count_if(rows._recent),
        events_prev_30d=_count_if((rows._before > 30) & (rows._before <= 60)),
        event_recency_days=rows._before.min(),
        funnel_stage_30d=rows._recent.ifelse(rows._stage, 0).max(),
        checkouts_30d=_count_if(rows._recent & (rows.name == "Checkout Started")),
    )


def customer_features(con: BaseBackend, cutoff: datetime, zone: ZoneInfo) -> ir.Table:
    """One row per customer with a paid order before `cutoff`: the model's features.

    Also carries first_day / last_day (local day numbers) for the BG/NBD baseline.
    """
    scope = currency_scope(con)  # money features in the currency of most orders
    buys = _purchases(con, cutoff, zone, scope.currency if scope.mixed else None)
    refunds = _refunds(con, cutoff)
    activity = _activity(con, cutoff)
    users = con.table("users").select("user_id", "channel")
    joined = (
        buys.left_join(refunds, "user_id")
        .select(buys, refunds.refunds)
        .left_join(activity, "user_id")
        .drop("user_id_right")
        .left_join(users, "user_id")
        .drop("user_id_right")
    )
    # Rates compare a customer with their own history, so they carry across cut-offs.
    rate = joined.orders.cast("float64") / ibis.greatest(joined.tenure_days, 1.0)
    window_90 = ibis.least(joined.tenure_days, 90.0)
    features = joined.mutate(
        refunds=joined.refunds.fill_null(0),
        events_30d=joined.events_30d.fill_null(0),
        events_prev_30d=joined.events_prev_30d.fill_null(0),
        funnel_stage_30d=joined.funnel_stage_30d.fill_null(0),
        checkouts_30d=joined.checkouts_30d.fill_null(0),
        channel=joined.channel.fill_null("unknown"),
        order_rate=rate * 30.0,
        order_trend=_ratio(joined.orders_90d, rate * ibis.greatest(window_90, 1.0)),
        avg_order_value=_ratio(joined.revenue, joined._money_orders),
        overdue_ratio=_ratio(joined.recency_days, joined.gap_mean_days),
        refund_share=_ratio(
            joined.refunds.fill_null(0), joined.orders + joined.refunds.fill_null(0)
        ),
        coupon_share=_ratio(joined.coupon_orders, joined.orders),
        activity_trend=_ratio(
            joined.events_30d.fill_null(0) + 1, joined.events_prev_30d.fill_null(0) + 1
        ),
    )
    return features.drop("coupon_orders", "_money_orders")


def window_labels(con: BaseBackend, cutoff: datetime, end: datetime) -> ir.Table:
    """Paid orders per customer in [cutoff, end): user_id, orders_after."""
    orders = con.table("orders")
    after = orders.filter(
        orders.user_id.notnull()
        & (orders.status == "paid")
        & (orders.ts >= cutoff)
        & (orders.ts < end)
    )
    return after.group_by("user_id").aggregate(orders_after=after.count())


def labelled_features(con: BaseBackend, day: date, zone: ZoneInfo, horizon_days: int) -> ir.Table:
    """Features at the end of local `day`, `churned` = no paid order in the next horizon days."""
    cutoff = cutoff_instant(day, zone)
    features = customer_features(con, cutoff, zone)
    labels = window_labels(con, cutoff, cutoff_instant(day + timedelta(days=horizon_days), zone))
    joined = features.left_join(labels, "user_id").drop("user_id_right")
    return joined.mutate(
        orders_after=joined.orders_after.fill_null(0),
        churned=(joined.orders_after.fill_null(0) == 0).ifelse(1, 0),
    )
