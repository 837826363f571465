"""The churn evaluation as an HTML page: ranking metrics against the baselines, calibration."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from tenure.i18n import translate
from tenure.reports.html import Section, render

METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "brier", "calibration_error")


def _cell(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def metrics_table(evaluation: dict[str, Any]) -> str:
    """One row per ranking (model and baselines), one column per metric."""
    head = "".join(f"<th>{html.escape(translate(f'churn.metric.{m}'))}</th>" for m in METRICS)
    rows = []
    for name, metrics in evaluation["rankings"].items():
        cells = "".join(f"<td>{_cell(metrics.get(m))}</td>" for m in METRICS)
        label = html.escape(translate(f"churn.ranking.{name}"))
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    return (
        f"<table><tr><th>{html.escape(translate('churn.ranking'))}</th>{head}</tr>"
        f"{''.join(rows)}</table>"
    )


def calibration_figure(evaluation: dict[str, Any]) -> go.Figure:
    """Predicted against observed churn rate per probability band (diagonal = calibrated)."""
    bins = evaluation["rankings"]["model"]["calibration"]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="", line={"dash": "dot", "width": 1})
    )
    fig.add_trace(
        go.Scatter(
            x=[b["predicted"] for b in bins],
            y=[b["observed"] for b in bins],
            mode="lines+markers",
            text=[f"{b['customers']:,}" for b in bins],
            name=translate("churn.ranking.model"),
        )
    )
    fig.update_layout(
        title=translate("churn.chart.calibration"),
        xaxis_title=translate("churn.chart.predicted"),
        yaxis_title=translate("churn.chart.observed"),
        height=420,
        showlegend=False,
    )
    return fig


def importance_figure(evaluation: dict[str, Any]) -> go.Figure:
    """The features the model leans on most (total LightGBM gain)."""
    items = list(evaluation["importance"].items())[::-1]
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"))
    fig.update_layout(title=translate("churn.chart.importance"), height=420)
    return fig


def evaluation_sections(evaluation: dict[str, Any]) -> list[Section]:
    """The report blocks of one evaluation."""
    note = translate(
        "churn.report.note",
        cutoff=evaluation["cutoff"],
        end=evaluation["window_end"],
        horizon=evaluation["horizon_days"],
        customers=f"{evaluation['customers']:,}",
        rate=f"{evaluation['churn_rate']:.1%}",
        cutoffs=", ".join(evaluation["training_cutoffs"]),
        label_days=evaluation["training_label_days"],
    )
    return [
        Section(translate("churn.report.metrics"), body=metrics_table(evaluation), note=note),
        Section(
            translate("churn.report.model"),
            figures=(calibration_figure(evaluation), importance_figure(evaluation)),
        ),
    ]


def evaluation_html(evaluation: dict[str, Any], zone: str) -> str:
    """A self-contained HTML page of the evaluation."""
    return render(evaluation_sections(evaluation), translate("churn.report.title"), zone)
