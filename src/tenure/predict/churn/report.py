"""HTML: the churn evaluation page, and the report's churn-risk and customer-value sections."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from tenure.i18n import translate
from tenure.kit.htmldoc import Section, render
from tenure.kit.money import exponent
from tenure.predict.churn.baselines import COMPARED_METRICS
from tenure.predict.scores import model_scores

METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "brier", "calibration_error")


def _cell(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def model_beats(evaluation: dict[str, Any], name: str) -> str:
    """Whether the model beats ranking `name`, per compared metric: "yes/no/yes"."""
    beats = evaluation["comparison"]["model_beats"].get(name)
    if beats is None:
        return ""
    words = {True: translate("churn.compare.yes"), False: translate("churn.compare.no")}
    return "/".join(words.get(beats[m], "–") for m in COMPARED_METRICS)


def scores_use(evaluation: dict[str, Any], name: str) -> str:
    """A mark on the ranking the scores use."""
    return "✓" if evaluation["comparison"]["ranker"] == name else ""


def metrics_table(evaluation: dict[str, Any]) -> str:
    """One row per ranking (model and baselines), one column per metric, then whether the model
    beats it and which one the scores use."""
    extra = (translate("churn.compare.beats"), translate("churn.compare.scores"))
    head = "".join(
        f"<th>{html.escape(t)}</th>"
        for t in (*(translate(f"churn.metric.{m}") for m in METRICS), *extra)
    )
    rows = []
    for name, metrics in evaluation["rankings"].items():
        cells = "".join(f"<td>{_cell(metrics.get(m))}</td>" for m in METRICS)
        cells += f"<td>{html.escape(model_beats(evaluation, name))}</td>"
        cells += f"<td>{scores_use(evaluation, name)}</td>"
        label = html.escape(translate(f"churn.ranking.{name}"))
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    return (
        f"<p><strong>{html.escape(evaluation['comparison']['message'])}</strong></p>"
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


def evaluation_html(evaluation: dict[str, Any], zone: ZoneInfo) -> str:
    """A self-contained HTML page of the evaluation."""
    return render(evaluation_sections(evaluation), translate("churn.report.title"), zone)


RISK_BANDS = ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.01))
AT_RISK_ROWS = 15


def _money(minor: float, currency: str) -> str:
    return f"{minor / 10 ** exponent(currency):,.2f} {currency}"


@dataclass(frozen=True)
class RiskBand:
    """Customers in one churn-probability band and their 12-month CLV (minor units)."""

    low: float
    high: float
    customers: int
    clv_minor: float | None

    @property
    def label(self) -> str:
        return f"{self.low:.0%}–{min(self.high, 1.0):.0%}"


def risk_bands(churn: pd.DataFrame, value: pd.Series | None) -> list[RiskBand]:
    """The latest churn scores counted per band, with the CLV at stake in each."""
    bands = []
    for low, high in RISK_BANDS:
        mask = (churn["churn_probability"] >= low) & (churn["churn_probability"] < high)
        at_stake = (
            float(value.reindex(churn.index[mask]).fillna(0).sum()) if value is not None else None
        )
        bands.append(RiskBand(low, high, int(mask.sum()), at_stake))
    return bands


def _band_figure(churn: pd.DataFrame, value: pd.Series | None, currency: str) -> go.Figure:
    """Customers (and 12-month CLV) per churn-risk band."""
    bands = risk_bands(churn, value)
    labels = [b.label for b in bands]
    fig = go.Figure(
        go.Bar(x=labels, y=[b.customers for b in bands], name=translate("report.risk.bands"))
    )
    if value is not None:
        scale = 10 ** exponent(currency)
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=[(b.clv_minor or 0) / scale for b in bands],
                yaxis="y2",
                name=f"CLV ({currency})",
            )
        )
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right"})
    fig.update_layout(title=translate("report.risk.bands"), height=380)
    return fig


def _at_risk_table(churn: pd.DataFrame, clv: pd.DataFrame | None) -> str:
    """The customers whose expected loss (churn probability × CLV) is largest."""
    frame = churn.copy()
    if clv is not None and "clv_minor" in clv:
        frame = frame.join(clv[["clv_minor", "currency"]], how="left")
        frame["loss"] = frame["churn_probability"] * frame["clv_minor"].fillna(0)
    else:
        frame["loss"] = frame["churn_probability"]
    top = frame.sort_values("loss", ascending=False).head(AT_RISK_ROWS)
    rows = []
    for user_id, row in top.iterrows():
        drivers = row.get("drivers") or []
        driver = drivers[0]["feature"] if drivers else ""
        value = (
            _money(row["clv_minor"], row["currency"])
            if "clv_minor" in row and pd.notna(row["clv_minor"])
            else "–"
        )
        next_order = row.get("next_order_date")
        next_text = "–" if next_order is None or pd.isna(next_order) else str(next_order)
        rows.append(
            f"<tr><td>{html.escape(str(user_id))}</td><td>{row['churn_probability']:.0%}</td>"
            f"<td>{value}</td><td>{html.escape(next_text)}</td>"
            f"<td>{html.escape(driver)}</td></tr>"
        )
    return (
        "<table><tr><th>user</th><th>churn</th><th>CLV 12 m</th><th>next order</th>"
        f"<th>top driver</th></tr>{''.join(rows)}</table>"
    )


def risk_sections(con: BaseBackend) -> list[Section]:
    """Churn-risk bands and the valuable customers at risk, from the latest scores."""
    churn = model_scores(con, "churn")
    clv = model_scores(con, "clv")
    title = translate("report.section.risk")
    if churn.empty and clv.empty:
        return [Section(title, note=translate("report.risk.empty"))]
    if churn.empty:
        churn = pd.DataFrame({"churn_probability": 1.0 - clv["p_alive"]}, index=clv.index)
    currency = str(clv["currency"].iloc[0]) if "currency" in clv and len(clv) else "USD"
    value = clv.get("clv_minor")
    note = translate(
        "report.risk.note",
        churn_version=str(churn["as_of"].iloc[0]) if "as_of" in churn else "–",
        horizon=int(churn["horizon_days"].iloc[0]) if "horizon_days" in churn else "–",
        clv_version=str(clv["as_of"].iloc[0]) if "as_of" in clv and len(clv) else "–",
    )
    return [
        Section(title, figures=(_band_figure(churn, value, currency),), note=note),
        Section(
            translate("report.risk.at_risk"),
            body=_at_risk_table(churn, clv if len(clv) else None),
        ),
    ]
