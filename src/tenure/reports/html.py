"""The self-contained HTML report: sections of Plotly charts and tables, plotly.js inlined."""

from __future__ import annotations

import html
from collections.abc import Callable
from zoneinfo import ZoneInfo

from ibis.backends import BaseBackend

from tenure.analytics.funnels import FunnelQuery, funnel_runner
from tenure.analytics.kpis import KpiQuery, KpiRunner
from tenure.analytics.kpis.query import LOWER_IS_BETTER, RATE_METRICS
from tenure.analytics.paths import PathsQuery, paths_runner
from tenure.analytics.retention import RetentionQuery, RetentionRunner
from tenure.i18n import translate
from tenure.kit.htmldoc import Section, render
from tenure.predict.churn.report import risk_sections
from tenure.reports import charts
from tenure.segments.report import sections as rfm_sections

SectionBuilder = Callable[[BaseBackend, ZoneInfo], list[Section]]


def retention_sections(con: BaseBackend, zone: ZoneInfo) -> list[Section]:
    """Cohort heatmap, day-N curves and LTV by acquisition channel."""
    weekly = RetentionRunner(
        RetentionQuery(period="week", periods=12, days=tuple(range(1, 31))), zone
    )(con)
    if not weekly.cohorts:
        return [Section(translate("report.section.retention"), note=translate("report.empty"))]
    monthly = RetentionRunner(
        RetentionQuery(period="month", periods=12, breakdown="first_order_channel", days=(30,)),
        zone,
    )(con)
    return [
        Section(
            translate("report.section.retention"),
            (charts.cohort_heatmap(weekly), charts.day_n_curves(weekly)),
            note=translate("report.note.retention", until=weekly.observed_until, zone=zone.key),
        ),
        Section(translate("report.section.ltv"), (charts.ltv_by_segment(monthly),)),
    ]


SUMMARY_METRICS = (
    "revenue",
    "orders",
    "buyers",
    "new_users",
    "aov",
    "repurchase_rate",
    "refund_rate",
    "active_users",
    "conversion",
)


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric in RATE_METRICS:
        return f"{value:.1%}"
    return (
        f"{value:,.2f}" if isinstance(value, float) and not value.is_integer() else f"{value:,.0f}"
    )


def kpi_sections(con: BaseBackend, zone: ZoneInfo) -> list[Section]:
    """The last complete month against the one before, for the headline KPIs."""
    result = KpiRunner(KpiQuery(period="month", metrics=SUMMARY_METRICS), zone)(con)
    rows = []
    for series in result.series:
        points = [p for p in series.points if not p.partial] or series.points
        if not points:
            continue
        last = points[-1]
        change = last.change_rate
        better = change is not None and (change >= 0) != (series.metric in LOWER_IS_BETTER)
        arrow = "" if change is None else ("up" if better else "down")
        delta = "–" if change is None else f"{change:+.1%}"
        rows.append(
            f"<tr><td>{html.escape(translate(f'report.kpi.{series.metric}'))}</td>"
            f"<td>{_fmt(series.metric, last.value)}</td>"
            f"<td>{_fmt(series.metric, last.previous)}</td>"
            f'<td class="{arrow}">{delta}</td></tr>'
        )
    if not rows:
        return [Section(translate("report.section.kpis"), note=translate("report.empty"))]
    head = "".join(
        f"<th>{html.escape(translate(k))}</th>"
        for k in (
            "report.col.metric",
            "report.col.last_month",
            "report.col.previous",
            "report.col.change",
        )
    )
    body = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return [Section(translate("report.section.kpis"), body=body)]


MAIN_FUNNEL = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")


def _event_names(con: BaseBackend) -> set[str]:
    events = con.table("events")
    return set(events.select("name").distinct().limit(10_000).execute()["name"].dropna())


def behaviour_sections(con: BaseBackend, zone: ZoneInfo) -> list[Section]:
    """The main purchase funnel and the top paths, when the shop sends those events."""
    names = _event_names(con)
    sections: list[Section] = []
    steps = [s for s in MAIN_FUNNEL if s in names]
    if len(steps) >= 2:
        result = funnel_runner(FunnelQuery(steps=tuple(steps)), zone)(con)
        sections.append(Section(translate("report.section.funnel"), (charts.funnel(result),)))
    if names:
        start = "Session Started" if "Session Started" in names else None
        paths = paths_runner(PathsQuery(start=start, steps=4, top=10), zone)(con)
        if paths.transitions:
            sections.append(
                Section(translate("report.section.paths"), (charts.paths_sankey(paths),))
            )
    return sections


def risk_value_sections(con: BaseBackend, zone: ZoneInfo) -> list[Section]:
    """Churn-risk bands and valuable customers at risk, from the latest churn and CLV scores."""
    return risk_sections(con)


def rfm_lifecycle_sections(con: BaseBackend, zone: ZoneInfo) -> list[Section]:
    """RFM segments with the R×F grid, and customers per lifecycle stage."""
    return rfm_sections(con, zone)


BUILDERS: list[SectionBuilder] = [
    kpi_sections,
    retention_sections,
    rfm_lifecycle_sections,
    behaviour_sections,
    risk_value_sections,
]


def build_report(con: BaseBackend, zone: ZoneInfo, title: str | None = None) -> str:
    """Run every section against the warehouse and render the report."""
    sections: list[Section] = []
    for builder in BUILDERS:
        sections.extend(builder(con, zone))
    return render(sections, title or translate("report.title"), zone)
