"""The report's RFM and lifecycle sections."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from ibis.backends import BaseBackend

from tenure.i18n import translate
from tenure.kit.htmldoc import Section
from tenure.segments.lifecycle import STAGES, LifecycleQuery, LifecycleRunner
from tenure.segments.rfm import RfmQuery, RfmRunner

_STAGE_COLOURS = {
    "new": "#4c9be8",
    "active": "#3bb273",
    "loyal": "#1f7a3a",
    "at_risk": "#f0a202",
    "churned": "#b42318",
    "reactivated": "#7b61ff",
}


def _rfm_section(con: BaseBackend, zone: ZoneInfo) -> Section:
    result = RfmRunner(RfmQuery(), zone)(con)
    title = translate("report.section.rfm")
    if not result.segments:
        return Section(title, note=translate("report.empty"))
    heads = ("segment", "users", "share", "recency", "frequency", "monetary")
    head = "".join(f"<th>{html.escape(translate(f'report.col.{h}'))}</th>" for h in heads)
    rows = "".join(
        f"<tr><td>{html.escape(s.segment)}</td><td>{s.users:,}</td><td>{s.share:.1%}</td>"
        f"<td>{s.recency_days:,.0f}</td><td>{s.frequency:,.1f}</td><td>{s.monetary:,.2f}</td></tr>"
        for s in result.segments
    )
    cells = {(c.r, c.f): c.users for c in result.grid}
    heat = go.Figure(
        go.Heatmap(
            z=[[cells.get((r, f), 0) for f in range(1, 6)] for r in range(1, 6)],
            x=[f"F{f}" for f in range(1, 6)],
            y=[f"R{r}" for r in range(1, 6)],
            colorscale="Blues",
            hovertemplate="%{y} %{x}: %{z} customers<extra></extra>",
        )
    )
    heat.update_layout(height=360, margin={"t": 20, "b": 40, "l": 50, "r": 20})
    return Section(
        title,
        (heat,),
        body=f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>",
        note=translate("report.note.rfm", customers=f"{result.customers:,}", as_of=result.as_of),
    )


def _lifecycle_section(con: BaseBackend, zone: ZoneInfo) -> Section:
    query = LifecycleQuery()
    result = LifecycleRunner(query, zone)(con)
    title = translate("report.section.lifecycle")
    if not result.customers:
        return Section(title, note=translate("report.empty"))
    counts = {s.stage: s.users for s in result.stages}
    labels = [translate(f"lifecycle.stage.{s}") for s in STAGES]
    bars = go.Figure(
        go.Bar(
            x=labels,
            y=[counts.get(s, 0) for s in STAGES],
            marker_color=[_STAGE_COLOURS[s] for s in STAGES],
            text=[f"{s.share:.0%}" for s in result.stages],
            textposition="outside",
        )
    )
    bars.update_layout(height=340, margin={"t": 20, "b": 40, "l": 50, "r": 20})
    note = translate(
        "report.note.lifecycle",
        customers=f"{result.customers:,}",
        as_of=result.as_of,
        at_risk_days=query.at_risk_days,
        churn_days=query.churn_days,
    )
    return Section(title, (bars,), note=note)


def sections(con: BaseBackend, zone: ZoneInfo) -> list[Section]:
    """RFM segments with the R×F grid, and customers per lifecycle stage."""
    return [_rfm_section(con, zone), _lifecycle_section(con, zone)]
