"""Plotly figures for the report, built from runner results (no warehouse access here)."""

from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go

from tenure.analytics.funnels.query import FunnelResult
from tenure.analytics.paths.query import PathsResult
from tenure.analytics.retention import RetentionResult
from tenure.i18n import translate

_LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    "height": 420,
}


def cohort_heatmap(result: RetentionResult) -> go.Figure:
    """Retention rate by cohort (rows) and periods since the cohort (columns)."""
    width = max((len(c.rate) for c in result.cohorts), default=0)
    z = [c.rate + [None] * (width - len(c.rate)) for c in result.cohorts]
    labels = [f"{c.cohort} (n={c.size:,})" for c in result.cohorts]
    text = [[f"{v:.0%}" if v is not None else "" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(width)),
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=max(
                0.01, max((max(r[1:] or [0]) for r in [c.rate for c in result.cohorts]), default=0)
            ),
            hovertemplate="%{y}<br>+%{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=translate("report.chart.cohorts", period=result.period),
        xaxis_title=translate("report.axis.periods_since", period=result.period),
        yaxis={"autorange": "reversed"},
        **{**_LAYOUT, "height": max(420, 22 * len(labels) + 120)},
    )
    return fig


def day_n_curves(result: RetentionResult) -> go.Figure:
    """Day-N retention three ways."""
    days = [d.day for d in result.day_n]
    fig = go.Figure()
    for attr, key in (
        ("on_day_rate", "on_day"),
        ("on_or_after_rate", "on_or_after"),
        ("within_rate", "within"),
    ):
        fig.add_trace(
            go.Scatter(
                x=days,
                y=[getattr(d, attr) for d in result.day_n],
                mode="lines+markers",
                name=translate(f"report.series.{key}"),
            )
        )
    fig.update_layout(
        title=translate("report.chart.day_n"),
        xaxis_title=translate("report.axis.day"),
        yaxis_tickformat=".0%",
        **_LAYOUT,
    )
    return fig


def ltv_by_segment(result: RetentionResult) -> go.Figure:
    """Mean cumulative revenue per customer by periods since first order, a line per segment."""
    totals: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    sizes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for c in result.cohorts:
        for p, value in enumerate(c.ltv):
            totals[c.segment or ""][p] += value * c.size
            sizes[c.segment or ""][p] += c.size
    fig = go.Figure()
    for segment in sorted(totals):
        xs = sorted(totals[segment])
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[totals[segment][p] / sizes[segment][p] for p in xs],
                mode="lines+markers",
                name=segment or "all",
            )
        )
    fig.update_layout(
        title=translate("report.chart.ltv", period=result.period),
        xaxis_title=translate("report.axis.periods_since", period=result.period),
        yaxis_title=translate("report.axis.revenue_per_customer"),
        **_LAYOUT,
    )
    return fig


def funnel(result: FunnelResult) -> go.Figure:
    """Users reaching each step, with the share of step 1."""
    steps = result.overall.steps
    fig = go.Figure(
        go.Funnel(
            y=[s.name for s in steps], x=[s.users for s in steps], textinfo="value+percent initial"
        )
    )
    fig.update_layout(
        title=translate("report.chart.funnel", days=result.window_seconds // 86400), **_LAYOUT
    )
    return fig


def paths_sankey(result: PathsResult) -> go.Figure:
    """Where sessions go after the start event, as a Sankey diagram."""
    labels: list[str] = []
    index: dict[tuple[int, str], int] = {}

    def node(step: int, name: str) -> int:
        if (step, name) not in index:
            index[(step, name)] = len(labels)
            labels.append(f"{step}: {name}")
        return index[(step, name)]

    sources, targets, values = [], [], []
    for t in result.transitions:
        sources.append(node(t.step, t.source))
        targets.append(node(t.step + 1, t.target))
        values.append(t.sessions)
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 12},
            link={"source": sources, "target": targets, "value": values},
        )
    )
    fig.update_layout(title=translate("report.chart.paths", start=result.start or "—"), **_LAYOUT)
    return fig
