"""KPIs as Ibis expressions over the activity rollup, orders and events; DuckDB and Spark alike."""

from __future__ import annotations

from typing import Any, ClassVar

from ibis.backends import BaseBackend

from tenure.analytics.activity import activity
from tenure.analytics.base import InvalidQuery, Runner
from tenure.analytics.kpis.commerce import (
    commerce_frame,
    commerce_values,
    constant,
    records,
    visitors_frame,
)
from tenure.analytics.kpis.ltv import cohort_ltv
from tenure.analytics.kpis.periods import Window, build_series, by_index, make_window, number
from tenure.analytics.kpis.query import (
    COMMERCE_METRICS,
    METRICS,
    USER_METRICS,
    VISIT_METRICS,
    KpiQuery,
    KpiResult,
    KpiTotals,
)
from tenure.analytics.kpis.sources import data_bounds, in_days, order_days, visit_days
from tenure.analytics.kpis.users import user_counts
from tenure.analytics.localtime import period_index


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
        window = make_window(q.period, q.since, q.until, data_bounds(con, self.zone))
        if window is None:
            return KpiResult(
                period=q.period,
                zone=self.zone,
                since=q.since,
                until=q.until,
                series=[],
                totals=KpiTotals(),
                ltv=[],
            )
        wanted = self._wanted()
        values: dict[str, dict[int, Any]] = {}
        totals: dict[str, Any] = {}
        act = activity(con, self.zone)
        if set(wanted) & set(USER_METRICS):
            counts = user_counts(act, window)
            values |= counts.series(window)
            days = (window.until - window.start).days + 1
            totals |= {
                "active_users": counts.total_active,
                "dau": round(counts.total_user_days / days, 4),
                "new_users": counts.total_new,
            }
        if set(wanted) & {*COMMERCE_METRICS, *VISIT_METRICS}:
            series, window_totals = self._commerce(con, window)
            values |= series
            totals |= window_totals
        return KpiResult(
            period=q.period,
            zone=self.zone,
            since=window.start,
            until=window.until,
            series=[build_series(m, values[m], window) for m in wanted],
            totals=KpiTotals(**totals),
            ltv=cohort_ltv(act, window.start, window.until, q.ltv_months),
        )

    def _commerce(
        self, con: BaseBackend, window: Window
    ) -> tuple[dict[str, dict[int, Any]], dict[str, Any]]:
        orders = order_days(con, self.zone)
        visits = visit_days(con, self.zone)
        orders = orders.filter(in_days(orders.day, window.lookback, window.until))
        visits = visits.filter(in_days(visits.day, window.lookback, window.until))
        per_period = records(commerce_frame(orders, period_index(orders.day, window.period)))
        visitors = visitors_frame(visits, period_index(visits.day, window.period))
        visitor_counts = by_index(visitors, "visitors", key="bucket")
        values: dict[str, dict[int, Any]] = {m: {} for m in (*COMMERCE_METRICS, *VISIT_METRICS)}
        for index in range(window.first - 1, window.last + 1):
            row = commerce_values(per_period.get(index), visitor_counts.get(index, 0))
            for metric in values:
                values[metric][index] = row[metric]
        in_orders = orders.filter(orders.day >= window.start)
        in_visits = visits.filter(visits.day >= window.start)
        whole = records(commerce_frame(in_orders, constant())).get(0)
        seen = visitors_frame(in_visits, constant())
        total_visitors = number(seen.visitors.iloc[0]) if len(seen) else 0.0
        totals = commerce_values(whole, total_visitors)
        return values, totals
