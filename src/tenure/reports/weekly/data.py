"""The weekly review as data: every figure of one shop-local week, read from the domains' query
runners and services (no analytics here), ready to render in any locale.

- KPIs: the week against the week before and the same week a year before (52 weeks back), with
  the twelve weeks before it as the trend and the band an anomaly is judged against.
- Retention: the four newest weekly first-order cohorts, weeks 1 to 4 as far as observed.
- Lifecycle: customers per stage at the week's end against the week before, and the week's moves.
- Campaigns: what each campaign running in the week did against its holdout, and what it cost
  (to date: `campaigns/results.py` follows every entry over the attribution window).
- Offers: the redemptions used at checkout in the week and the discount they gave.
- Segments: the saved segments whose member count moved most over the week (refresh snapshots).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from tenure.analytics.kpis import KpiQuery, KpiResult, KpiRunner
from tenure.analytics.kpis.query import LOWER_IS_BETTER, RATE_METRICS
from tenure.analytics.kpis.sources import data_bounds
from tenure.analytics.retention import RetentionQuery, RetentionRunner
from tenure.campaigns.models import CampaignRow
from tenure.campaigns.results import results as campaign_results
from tenure.campaigns.service import campaigns as campaign_docs
from tenure.config import Settings
from tenure.errors import TenureError
from tenure.promotions.service.offers import OfferUse, redemptions_between
from tenure.reports.weekly.anomalies import Band, unusual
from tenure.reports.weekly.weeks import Week, last_complete
from tenure.segments import service as segments
from tenure.segments.lifecycle import STAGES, LifecycleQuery, LifecycleRunner
from tenure.segments.service import SegmentMove
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

log = logging.getLogger(__name__)

Number = int | float

KPI_METRICS = (
    "revenue",
    "orders",
    "buyers",
    "new_users",
    "aov",
    "repurchase_rate",
    "conversion",
    "active_users",
    "refund_rate",
)
MONEY = frozenset({"revenue", "aov"})
HISTORY_WEEKS = 12
COHORTS = 4
TOP_CAMPAIGNS = 10
TOP_OFFERS = 10
TOP_MOVERS = 8
MIXED_COSTS = "costs and revenue are in different currencies"  # campaigns/results.py


def _relative(value: Number | None, other: Number | None, rate: bool) -> float | None:
    """A rate's change in points (0.02 = 2 pp); any other figure's change relative to `other`."""
    if value is None or other is None:
        return None
    if rate:
        return float(value) - float(other)
    return (float(value) - float(other)) / float(other) if other else None


@dataclass(frozen=True)
class KpiLine:
    """One KPI of the week, the figures it is compared with, its trend and its usual band."""

    metric: str
    value: Number | None
    previous: Number | None
    last_year: Number | None
    currency: str | None
    trend: tuple[Number | None, ...]  # the weeks before, oldest first, then this week
    anomaly: int = 0  # +1 above its usual band, -1 below, 0 inside or unknown
    band: Band | None = None

    @property
    def is_rate(self) -> bool:
        return self.metric in RATE_METRICS

    @property
    def is_money(self) -> bool:
        return self.metric in MONEY

    @property
    def vs_previous(self) -> float | None:
        return _relative(self.value, self.previous, self.is_rate)

    @property
    def vs_last_year(self) -> float | None:
        return _relative(self.value, self.last_year, self.is_rate)

    def good(self, change: float | None) -> bool | None:
        """Whether a change is good news (None when there is none)."""
        if change is None or change == 0:
            return None
        return (change > 0) != (self.metric in LOWER_IS_BETTER)


@dataclass(frozen=True)
class CohortLine:
    """A weekly first-order cohort: its size and the share back in weeks 1..4 (None: not yet)."""

    cohort: date
    size: int
    rates: tuple[float | None, ...]


@dataclass(frozen=True)
class StageLine:
    """Customers in a lifecycle stage at the week's end, and a week before."""

    stage: str
    users: int
    share: float
    previous: int | None

    @property
    def change(self) -> int | None:
        return None if self.previous is None else self.users - self.previous


@dataclass(frozen=True)
class FlowLine:
    """Customers who moved from one stage (None: first stage) to another during the week."""

    from_stage: str | None
    to_stage: str
    users: int


@dataclass(frozen=True)
class CampaignLine:
    """A campaign's effect against its holdout, and what it gave away (to date)."""

    key: str
    name: str
    status: str
    treated: int
    held_out: int
    incremental_conversions: float | None
    incremental_revenue: float | None
    cost: float | None  # coupons used + points value, major units of `currency`
    roi: float | None
    currency: str | None


@dataclass(frozen=True)
class WeeklyReview:
    """Everything the review shows for one week; each list is empty when there is no data."""

    week: Week
    zone: str
    currency: str
    generated_at: datetime
    partial: bool  # the week is not over yet
    data_until: date | None  # the last day with any order or visit
    kpis: list[KpiLine] = field(default_factory=list)
    cohorts: list[CohortLine] = field(default_factory=list)
    stages: list[StageLine] = field(default_factory=list)
    flows: list[FlowLine] = field(default_factory=list)
    campaigns: list[CampaignLine] = field(default_factory=list)
    offers: list[OfferUse] = field(default_factory=list)
    movers: list[SegmentMove] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return any(line.value not in (None, 0) for line in self.kpis)

    @property
    def anomalies(self) -> list[KpiLine]:
        return [line for line in self.kpis if line.anomaly]

    @property
    def customers(self) -> int:
        return sum(line.users for line in self.stages)


# -- the warehouse -------------------------------------------------------------------------------


def data_until(con: BaseBackend, settings: Settings) -> date | None:
    """The last shop-local day with an order or a visit (None for an empty warehouse)."""
    return data_bounds(con, settings.zone)[0].last


def default_week(warehouse: Warehouse, settings: Settings, now: datetime) -> Week:
    """The last complete week (see `weeks.last_complete`), as the page and the CLI default."""
    with warehouse.reader() as con:
        until = data_until(con, settings)
    return last_complete(now, settings.zone, until)


def _points(result: KpiResult, metric: str) -> dict[date, Number | None]:
    try:
        series = result.get(metric)
    except KeyError:
        return {}
    return {point.period: point.value for point in series.points}


def _currency(result: KpiResult, metric: str) -> str | None:
    try:
        return result.get(metric).currency
    except KeyError:
        return None


def kpi_lines(
    con: BaseBackend, settings: Settings, week: Week, first_day: date | None
) -> list[KpiLine]:
    """This week, the one before, twelve weeks of history, and the same week last year."""
    if first_day is None or first_day > week.end:
        return []
    zone = settings.zone
    since = week.shifted(-HISTORY_WEEKS).start
    recent = KpiRunner(
        KpiQuery(period="week", since=since, until=week.end, metrics=KPI_METRICS, ltv_months=0),
        zone,
    )(con)
    ago = week.last_year
    opened = Week.of(first_day).start  # weeks before the shop's first data are not history
    before: KpiResult | None = None
    if opened <= ago.start:  # the data reaches back to that week
        before = KpiRunner(
            KpiQuery(
                period="week", since=ago.start, until=ago.end, metrics=KPI_METRICS, ltv_months=0
            ),
            zone,
        )(con)
    lines = []
    for metric in KPI_METRICS:
        values = _points(recent, metric)
        past = [week.shifted(-n).start for n in range(HISTORY_WEEKS, 0, -1)]
        history = [values.get(day) for day in past if day >= opened]
        value = values.get(week.start)
        direction, found = unusual(value, history)
        lines.append(
            KpiLine(
                metric=metric,
                value=value,
                previous=values.get(week.previous.start) if week.previous.start >= opened else None,
                last_year=None if before is None else _points(before, metric).get(ago.start),
                currency=_currency(recent, metric) if metric in MONEY else None,
                trend=(*history, value),
                anomaly=direction,
                band=found,
            )
        )
    return lines


def cohort_lines(con: BaseBackend, settings: Settings, week: Week) -> list[CohortLine]:
    """The four weekly first-order cohorts before this week: weeks 1..4 back, when observed."""
    result = RetentionRunner(
        RetentionQuery(
            period="week",
            periods=COHORTS,
            since=week.shifted(-COHORTS).start,
            until=week.end,
            days=(),
        ),
        settings.zone,
    )(con)
    lines = []
    for row in result.cohorts:
        if row.segment is not None or row.cohort >= week.start or row.size == 0:
            continue
        rates = [float(r) for r in row.rate[1 : COHORTS + 1]]
        lines.append(
            CohortLine(row.cohort, row.size, tuple(rates + [None] * (COHORTS - len(rates))))
        )
    return sorted(lines, key=lambda line: line.cohort)


def stage_lines(con: BaseBackend, settings: Settings, week: Week) -> list[StageLine]:
    """Customers per lifecycle stage at the week's end, against the end of the week before."""
    now = LifecycleRunner(LifecycleQuery(as_of=week.end), settings.zone)(con)
    if not now.customers:
        return []
    then = LifecycleRunner(LifecycleQuery(as_of=week.previous.end), settings.zone)(con)
    earlier = {s.stage: s.users for s in then.stages} if then.customers else {}
    counts = {s.stage: s for s in now.stages}
    return [
        StageLine(stage, counts[stage].users, counts[stage].share, earlier.get(stage))
        for stage in STAGES
        if stage in counts
    ]


# -- the database --------------------------------------------------------------------------------


def _running_in(row: CampaignRow, week: Week, settings: Settings) -> bool:
    """Started by the week's end and not finished before it began."""
    if row.status == "draft" or row.started_at is None:
        return False
    if row.started_at >= week.closes(settings.zone):
        return False
    return not (row.status == "finished" and row.updated_at < week.opens(settings.zone))


def campaign_lines(
    database: Database, warehouse: Warehouse, settings: Settings, week: Week, now: datetime
) -> list[CampaignLine]:
    """Each campaign that ran in the week: incremental conversions and revenue, and cost."""
    rows = database.read(lambda s: campaign_docs.listing(s))
    running = [r for r in rows if _running_in(r, week, settings)]
    running.sort(key=lambda r: (r.started_at, r.key), reverse=True)
    lines = []
    for row in running[:TOP_CAMPAIGNS]:
        try:
            found = campaign_results(database, warehouse, row.key, now)
        except TenureError as exc:  # a campaign whose document no longer validates
            log.warning("weekly review: no results for campaign %s: %s", row.key, exc)
            continue
        arms = {arm.arm: arm.users for arm in found.arms}
        costs = found.costs
        spent = costs.coupon_discount + costs.points_value
        # Coupons and points in several currencies cannot be added up (results.py says why).
        mixed = costs.roi is None and costs.reason == MIXED_COSTS
        lines.append(
            CampaignLine(
                key=row.key,
                name=row.name,
                status=row.status,
                treated=arms.get("treatment", 0),
                held_out=arms.get("holdout", 0),
                incremental_conversions=found.incremental_conversions,
                incremental_revenue=found.incremental_revenue,
                cost=None if costs.currency is None or mixed else spent,
                roi=costs.roi,
                currency=found.currency,
            )
        )
    return lines


def _operational(session: Session, week: Week, settings: Settings) -> tuple[
    list[FlowLine], list[OfferUse], list[SegmentMove]
]:  # fmt: skip
    zone = settings.zone
    flows = [FlowLine(f, t, n) for f, t, n in segments.flows_between(session, week.start, week.end)]
    offers = redemptions_between(session, week.opens(zone), week.closes(zone))[:TOP_OFFERS]
    movers = segments.segment_movers(session, week.opens(zone), week.closes(zone), TOP_MOVERS)
    return flows, offers, movers


# -- the whole review ----------------------------------------------------------------------------


def build_review(
    settings: Settings,
    database: Database,
    warehouse: Warehouse,
    week: Week,
    now: datetime,
) -> WeeklyReview:
    """Every section of the review for `week`, as of `now`."""
    with warehouse.reader() as con:
        bounds = data_bounds(con, settings.zone)[0]
        kpis = kpi_lines(con, settings, week, bounds.first)
        has_orders = bounds.first is not None and bounds.first <= week.end
        cohorts = cohort_lines(con, settings, week) if has_orders else []
        stages = stage_lines(con, settings, week) if has_orders else []
    flows, offers, movers = database.read(lambda s: _operational(s, week, settings))
    campaigns = campaign_lines(database, warehouse, settings, week, now)
    money = next((line.currency for line in kpis if line.currency), None)
    return WeeklyReview(
        week=week,
        zone=settings.zone.key,
        currency=money or settings.currency,
        generated_at=now,
        partial=not week.complete(now, settings.zone),
        data_until=bounds.last,
        kpis=kpis,
        cohorts=cohorts,
        stages=stages,
        flows=flows,
        campaigns=campaigns,
        offers=offers,
        movers=movers,
    )


def trend_heights(values: Sequence[Number | None]) -> list[float | None]:
    """Bar heights 0..1 for a trend (None stays None): the largest value is 1."""
    known = [float(v) for v in values if v is not None]
    top = max((abs(v) for v in known), default=0.0)
    return [None if v is None else (abs(float(v)) / top if top else 0.0) for v in values]
