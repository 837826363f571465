"""The retention query and its result."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tenure.analytics.activity import Activity
from tenure.analytics.base import AnalyticsQuery
from tenure.analytics.currency import CURRENCY_HELP, CurrencyCode, CurrencyFields

Breakdown = Literal["channel", "country", "first_category", "first_order_channel"]


# Day N of a customer's life: ten years is the longest retention window a shop asks about, and the
# bound keeps day arithmetic far from integer overflow (day numbers below 1 are a query error).
DayNumber = Annotated[int, Field(le=3660)]


class RetentionQuery(AnalyticsQuery):
    """Who came back, by cohort.

    Cohorts are the shop-local period of each user's start activity (`start_mode="first"`: the
    first occurrence only; `"recurring"`: every period with a start). A cohort user is retained in
    period p when the return activity happened at least `min_occurrences` times in that period.
    Value retention (revenue, LTV) is in one `currency` when the orders are in several.
    """

    period: Literal["day", "week", "month"] = "week"
    periods: int = Field(default=12, ge=0, le=400, description="Periods after the cohort's own.")
    start: Activity = Activity(kind="order")
    returning: Activity = Activity(kind="order")
    start_mode: Literal["first", "recurring"] = "first"
    min_occurrences: int = Field(default=1, ge=1, le=1000)
    days: tuple[DayNumber, ...] = Field(
        default=(1, 7, 30), max_length=100, description="Day-N table columns (up to 10 years)."
    )
    breakdown: Breakdown | None = None
    since: date | None = Field(default=None, description="First cohort day (inclusive).")
    until: date | None = Field(default=None, description="Observation end (inclusive).")
    currency: CurrencyCode | None = Field(default=None, description=CURRENCY_HELP)


class CohortRow(BaseModel):
    """One cohort's row of the matrix: counts and rates by period offset (a triangle)."""

    cohort: date
    segment: str | None = None
    size: int
    retained: list[int]
    rate: list[float]
    revenue: list[float] = Field(default_factory=list)
    revenue_per_user: list[float] = Field(default_factory=list)
    ltv: list[float] = Field(default_factory=list)


class DayNRow(BaseModel):
    """Day-N retention three ways, over users whose day N is observed."""

    day: int
    segment: str | None = None
    eligible: int
    on_day: int
    on_or_after: int
    within: int
    on_day_rate: float
    on_or_after_rate: float
    within_rate: float


class RetentionResult(CurrencyFields):
    """The cohort matrix (with value retention in `currency`) and the day-N table."""

    period: str
    start: str
    returning: str
    observed_until: date | None
    cohorts: list[CohortRow]
    day_n: list[DayNRow]
