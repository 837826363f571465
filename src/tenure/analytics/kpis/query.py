"""The KPI and acquisition queries and their typed results."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tenure.analytics.base import AnalyticsQuery
from tenure.analytics.currency import CURRENCY_HELP, CurrencyCode, CurrencyFields

Period = Literal["day", "week", "month"]
Number = int | float

USER_METRICS = (
    "active_users",
    "dau",
    "stickiness",
    "new_users",
    "returning_users",
    "resurrected_users",
    "dormant_users",
)
COMMERCE_METRICS = (
    "orders",
    "guest_orders",
    "revenue",
    "gross_revenue",
    "refunds",
    "buyers",
    "aov",
    "purchase_frequency",
    "repurchase_rate",
    "refund_rate",
)
VISIT_METRICS = ("visitors", "conversion")
MONEY_METRICS = ("revenue", "gross_revenue", "refunds", "aov")
# Shares (shown as percentages; a change between two is in points) and the metrics where a rise
# is bad news: what every report, page and review of these KPIs needs to present them.
RATE_METRICS = frozenset({"repurchase_rate", "refund_rate", "conversion", "stickiness"})
LOWER_IS_BETTER = frozenset({"refund_rate"})
METRICS = (*USER_METRICS, *COMMERCE_METRICS, *VISIT_METRICS)
Metric = Literal[
    "active_users",
    "dau",
    "stickiness",
    "new_users",
    "returning_users",
    "resurrected_users",
    "dormant_users",
    "orders",
    "guest_orders",
    "revenue",
    "gross_revenue",
    "refunds",
    "buyers",
    "aov",
    "purchase_frequency",
    "repurchase_rate",
    "refund_rate",
    "visitors",
    "conversion",
]


class KpiQuery(AnalyticsQuery):
    """Shop KPIs per shop-local period, each with its period-over-period change.

    The window is whole periods, from the one containing `since` (default: the first day with
    data) to the one containing `until` (default: the last day with data); the last period stops
    at `until` and is then flagged `partial`. History before the window still decides who is new,
    returning, resurrected or dormant, and gives the first point its previous value.

    Users (from the activity rollup; an active user has any activity but a refund that day):
    `active_users` distinct active users in the period (DAU, WAU or MAU for a day, week or
    month period); `dau` mean daily active users over the period's days; `stickiness` dau /
    active_users (DAU/MAU for months, DAU/WAU for weeks, 1 for days); `new_users` first activity
    ever in the period; `returning_users` active in this period and the previous one;
    `resurrected_users` active now, not in the previous period, but at some earlier time;
    `dormant_users` active in the previous period but not in this one.

    Commerce (from `orders`; cancelled orders never count): `orders` paid orders, guests
    included; `guest_orders` the paid orders without a customer; `gross_revenue` paid amount;
    `refunds` the refunded amount (positive); `revenue` net = gross - refunds; `buyers` distinct
    customers with a paid order (guests are never buyers); `aov` gross_revenue / orders;
    `purchase_frequency` customers' paid orders / buyers; `repurchase_rate` buyers with 2+ paid
    orders in the period / buyers; `refund_rate` refunds / gross_revenue.

    Visits (from the raw `events` table, so anonymous visitors count): `visitors` distinct
    user ids, else anonymous ids, with a track, page or screen event; `conversion` buyers /
    visitors (identify, alias and group calls are profile updates, not visits).

    Currencies: when the orders are in several, the commerce figures and the LTV table are for
    the orders in one `currency` (default: the currency of most orders); the result counts the
    orders left out per other currency. User and visit figures count everyone.
    """

    period: Period = "week"
    since: date | None = Field(default=None, description="A day in the first period.")
    until: date | None = Field(default=None, description="The last day observed (inclusive).")
    metrics: tuple[Metric, ...] | None = Field(
        default=None, description="The series to return; all of them when omitted."
    )
    ltv_months: int = Field(
        default=12, ge=0, le=120, description="Months since first order in the LTV table."
    )
    currency: CurrencyCode | None = Field(default=None, description=CURRENCY_HELP)


class KpiPoint(BaseModel):
    """One period's value, the previous period's, and the change between them.

    `change` = value - previous (for a rate, in rate points); `change_rate` = change / previous.
    Both are None when either value is None; `previous` is None for the first period of data.
    """

    period: date
    value: Number | None
    previous: Number | None = None
    change: Number | None = None
    change_rate: float | None = Field(default=None, description="change / previous.")
    partial: bool = Field(default=False, description="The period is observed only in part.")


class KpiSeries(BaseModel):
    """A metric as a time series (for acquisition, one per channel: `segment`)."""

    metric: str
    segment: str | None = None
    currency: str | None = Field(default=None, description="The currency of a money series.")
    points: list[KpiPoint]


class KpiTotals(BaseModel):
    """The same KPIs over the whole window at once (not sums of the periods)."""

    active_users: int = 0
    dau: float | None = None
    new_users: int = 0
    orders: int = 0
    guest_orders: int = 0
    revenue: float = 0.0
    gross_revenue: float = 0.0
    refunds: float = 0.0
    buyers: int = 0
    aov: float | None = None
    purchase_frequency: float | None = None
    repeat_buyers: int = 0
    repurchase_rate: float | None = None
    refund_rate: float | None = None
    visitors: int = 0
    conversion: float | None = None


class LtvCohort(BaseModel):
    """Historical LTV of a monthly first-order cohort: cumulative net revenue per customer."""

    cohort: date
    customers: int
    revenue: list[float] = Field(description="Net revenue by months since first order.")
    ltv: list[float] = Field(description="Cumulative revenue per customer, same offsets.")


class KpiResult(CurrencyFields):
    """KPI series, window totals and the cohort LTV table (money in `currency`)."""

    period: str
    zone: str
    since: date | None
    until: date | None
    series: list[KpiSeries]
    totals: KpiTotals
    ltv: list[LtvCohort]

    def get(self, metric: str) -> KpiSeries:
        """The series of one metric."""
        for series in self.series:
            if series.metric == metric:
                return series
        raise KeyError(metric)


class AcquisitionQuery(AnalyticsQuery):
    """CAC, LTV and payback per acquisition channel.

    New customers are users whose first paid order ever falls in [since, until] (shop-local
    days); their channel is `users.channel`, else the first paid order's channel, else
    `(none)`. CAC = spend in the window / new customers; a channel without any spend row in
    the window has no CAC (nor payback): its spend is missing, not zero. The `(all)` row is the
    blended CAC: all spend / all new customers. LTV at N days = net revenue per new customer in
    the first N days (the first order's day is day 0), over customers observed for all N days.
    Payback = how many periods it takes for cumulative `margin` x net revenue per customer to
    reach CAC, the first order's own period counting as the first (so 1 when the first period
    pays it back; 0 only when CAC is 0); each period is averaged over the customers observed
    that long. Not reached in the periods observed: no payback (more than `len(margin_curve)`).

    Currencies: revenue, spend and CAC are in one `currency` (default: the currency of most
    orders); new customers are those whose first paid order in it falls in the window, and
    spend in other currencies is left out (`left_out_spend`).
    """

    since: date | None = Field(default=None, description="First acquisition day (inclusive).")
    until: date | None = Field(default=None, description="Last acquisition day (inclusive).")
    period: Period = "month"
    margin: float = Field(default=1.0, gt=0, le=1, description="Gross margin share of revenue.")
    # Ten years at most: the day arithmetic stays far from overflow (below 1 is a query error).
    horizons: tuple[Annotated[int, Field(le=3660)], ...] = Field(
        default=(30, 90, 180, 365), max_length=20, description="LTV days."
    )
    currency: CurrencyCode | None = Field(default=None, description=CURRENCY_HELP)


class HorizonLtv(BaseModel):
    """LTV at one horizon."""

    days: int
    customers: int = Field(description="New customers observed for the whole horizon.")
    ltv: float | None
    ltv_to_cac: float | None = None


class ChannelRow(BaseModel):
    """One acquisition channel (or `(all)`)."""

    channel: str
    spend: float | None = Field(description="Spend in the window; None: no spend row for it.")
    new_customers: int
    cac: float | None = Field(description="spend / new customers; None without spend or customers.")
    ltv: list[HorizonLtv]
    margin_curve: list[float] = Field(
        description="Cumulative margin per customer by period, the first order's period first."
    )
    payback_period: int | None = Field(
        description="Periods until the cumulative margin reaches CAC, the first order's period "
        "counting as 1; None without CAC, or when not reached in the periods observed."
    )


class AcquisitionResult(CurrencyFields):
    """Channels, the all-channel total and per-period CAC series (money in `currency`)."""

    period: str
    zone: str
    since: date | None
    until: date | None
    observed_until: date | None
    margin: float
    channels: list[ChannelRow]
    total: ChannelRow | None
    series: list[KpiSeries]
    spend_missing: list[str] = Field(
        default_factory=list,
        description="Channels with new customers but no spend row in the window (`(all)` when "
        "no spend at all): their CAC and payback are missing. `tenure import spend FILE`.",
    )
    left_out_spend: dict[str, float] = Field(
        default_factory=dict, description="Spend in the window in other currencies, left out."
    )
