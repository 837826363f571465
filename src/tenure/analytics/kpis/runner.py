"""KPIs as Ibis expressions over the user-day rollup, orders and events; DuckDB and Spark alike."""

from __future__ import annotations

from typing import Any, ClassVar

from ibis.backends import BaseBackend

from tenure.analytics.activity import user_days
from tenure.analytics.base import InvalidQuery, Runner
from tenure.analytics.currency import CurrencyScope, currency_scope, money_days
from tenure.analytics.kpis.commerce import (
    TOTAL,
    by_bucket,
    commerce_values,
    order_stats,
    visitor_stats,
)
from tenure.analytics.kpis.ltv import cohort_ltv
from tenure.analytics.kpis.periods import Window, build_series, make_window
from tenure.analytics.kpis.query import (
    COMMERCE_METRICS,
    METRICS,
    MONEY_METRICS,
    USER_METRICS,
    VISIT_METRICS,
    KpiQuery,
    KpiResult,
    KpiTotals,
)
from tenure.analytics.kpis.sources import (
    data_bounds,
    in_days,
    order_days,
    visit_days,
)
from tenure.analytics.kpis.users import user_counts
from tenure.storage.plausible import window_of


class KpiRunner(Runner[KpiQuery, KpiResult]):
    """Every KPI of KpiQuery as a period series with its change, plus window totals and LTV."""

    query_type: ClassVar[type[KpiQuery]] = KpiQuery

    def validate(self) -> None:
        """The window must be ordered and name each metric once."""
        q = self.query
        if q.since and q.until and q.since > q.until:
            raise InvalidQuery(field="since", reason="since is after until")
        if q.metrics is not None and len(set(q.metrics)) != len(q.metrics):
            raise InvalidQuery(field="metrics", reason="a metric is named twice")

    def _wanted(self) -> tuple[str, ...]:
        return tuple(self.query.metrics) if self.query.metrics is not None else METRICS

    def run(self, con: BaseBackend) -> KpiResult:
        """Answer the query."""
        q = self.query
        scope = currency_scope(con, q.currency)
        bounds = data_bounds(con, self.zone)[0]
        window = make_window(q.period, q.since, q.until, bounds, window_of(con).days())
        if window is None:
            return KpiResult(
                **scope.fields(),
                period=q.period,
                zone=self.zone.key,
                since=q.since,
                until=q.until,
                series=[],
                totals=KpiTotals(),
                ltv=[],
            )
        wanted = self._wanted()
        values: dict[str, dict[int, Any]] = {}
        totals: dict[str, Any] = {}
        days = user_days(con, self.zone)
        if set(wanted) & set(USER_METRICS):
            counts = user_counts(days, window)
            values |= counts.series(window)
            length = (window.until - window.start).days + 1
            totals |= {
                "active_users": counts.total_active,
                "dau": round(counts.total_user_days / length, 4),
                "new_users": counts.total_new,
            }
        if set(wanted) & {*COMMERCE_METRICS, *VISIT_METRICS}:
            series, window_totals = self._commerce(con, window, scope)
            values |= series
            totals |= window_totals
        money = money_days(con, self.zone, scope) if scope.mixed else days
        built = [build_series(m, values[m], window) for m in wanted]
        for one in built:
            if one.metric in MONEY_METRICS:
                one.currency = scope.currency
        return KpiResult(
            **scope.fields(),
            period=q.period,
            zone=self.zone.key,
            since=window.start,
            until=window.until,
            series=built,
            totals=KpiTotals(**totals),
            ltv=cohort_ltv(money, window.start, window.until, q.ltv_months),
        )

    def _commerce(
        self, con: BaseBackend, window: Window, scope: CurrencyScope
    ) -> tuple[dict[str, dict[int, Any]], dict[str, Any]]:
        orders = scope.only(order_days(con, self.zone))
        visits = visit_days(con, self.zone)
        orders = orders.filter(in_days(orders.day, window.lookback, window.until))
        visits = visits.filter(in_days(visits.day, window.lookback, window.until))
        stats = by_bucket(
            order_stats(orders, window).execute(), visitor_stats(visits, window).execute()
        )
        values: dict[str, dict[int, Any]] = {m: {} for m in (*COMMERCE_METRICS, *VISIT_METRICS)}
        for index in range(window.first - 1, window.last + 1):
            row = commerce_values(stats.get(("period", index), {}))
            for metric in values:
                values[metric][index] = row[metric]
        return values, commerce_values(stats.get((TOTAL, 0), {}))
