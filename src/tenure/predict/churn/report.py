"""HTML: the churn evaluation page, and the report's churn-risk and customer-value sections."""

from __future__ import annotations

import html
from dataclasses import dataclass
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from tenure.i18n import translate
from tenure.kit.htmldoc import Section, render
from tenure.kit.money import exponent
from tenure.predict.churn.baselines import COMPARED_METRICS
from tenure.predict.scores import latest_expr, model_scores
from tenure.storage.jsonfields import json_get

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


def verdict(evaluation: dict[str, Any]) -> str:
    """The comparison's sentence in the current locale (the stored `message` is in the locale the
    model was trained in)."""
    comparison = evaluation["comparison"]
    rankings = evaluation["rankings"]
    best = comparison.get("best_baseline")
    model = rankings.get("model", {}).get("roc_auc")
    baseline = rankings.get(best, {}).get("roc_auc") if best else None
    return translate(
        comparison["code"],
        model="–" if model is None else f"{model:.4f}",
        baseline="–" if baseline is None else f"{baseline:.4f}",
        baseline_name=translate(f"churn.ranking.{best}") if best else "–",
        ranker=translate(f"churn.ranking.{comparison['ranker']}"),
    )


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


def risk_band_counts(con: BaseBackend) -> list[RiskBand]:
    """`risk_bands` counted in the warehouse: the latest churn probability per customer, banded,
    with the latest CLV summed per band; only one row per band leaves the warehouse."""
    churn = latest_expr(con, "churn")
    churn = churn.select(
        "user_id", p=json_get(churn["values"], "churn_probability", con.name).cast("float64")
    )
    clv = latest_expr(con, "clv")
    clv = clv.select(
        clv_user=clv.user_id, clv=json_get(clv["values"], "clv_minor", con.name).cast("float64")
    )
    joined = churn.left_join(clv, churn.user_id == clv.clv_user)
    band = ibis.cases(
        *((joined.p < high, index) for index, (_, high) in enumerate(RISK_BANDS)),
        else_=len(RISK_BANDS) - 1,
    )
    scored = joined.filter(joined.p.notnull()).mutate(band=band)
    rows = (
        scored.group_by("band")
        .aggregate(customers=scored.count(), clv=scored.clv.sum(), valued=scored.clv.count())
        .execute()
    )
    found = {int(r.band): r for r in rows.itertuples()}
    bands = []
    for index, (low, high) in enumerate(RISK_BANDS):
        row = found.get(index)
        customers = int(row.customers) if row is not None else 0
        at_stake = float(row.clv) if row is not None and row.valued else None
        bands.append(RiskBand(low, high, customers, at_stake))
    if not any(b.customers for b in bands):
        return []
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


@dataclass(frozen=True)
class AtRiskCustomer:
    """One customer ranked by expected loss: churn probability × 12-month CLV (minor units)."""

    user_id: str
    churn_probability: float
    clv_minor: int | None
    currency: str | None
    expected_loss_minor: int | None
    next_order_date: str | None
    driver: str | None


def _present(value: Any) -> bool:
    """Neither None nor a missing scalar (NaN, NA)."""
    return value is not None and not (pd.api.types.is_scalar(value) and pd.isna(value))


def at_risk(
    churn: pd.DataFrame, clv: pd.DataFrame | None, limit: int = AT_RISK_ROWS
) -> list[AtRiskCustomer]:
    """The `limit` customers whose expected loss (churn probability × CLV) is largest; by churn
    probability alone when there are no CLV scores. `churn` and `clv` are `model_scores` frames."""
    if churn.empty or "churn_probability" not in churn:
        return []
    frame = churn.copy()
    has_value = clv is not None and not clv.empty and "clv_minor" in clv
    if has_value:
        assert clv is not None
        columns = ["clv_minor", "currency"] if "currency" in clv else ["clv_minor"]
        frame = frame.join(clv[columns], how="left")
        amount = pd.to_numeric(frame["clv_minor"], errors="coerce")
        frame["loss"] = frame["churn_probability"] * amount.fillna(0)
    else:
        frame["loss"] = frame["churn_probability"]
    top = frame.sort_values("loss", ascending=False, kind="stable").head(limit)
    rows = []
    for user_id, row in top.iterrows():
        drivers = row.get("drivers")
        driver = drivers[0].get("feature") if isinstance(drivers, list) and drivers else None
        value: Any = row.get("clv_minor") if has_value else None
        known = _present(value)
        next_order = row.get("next_order_date")
        currency = row.get("currency") if has_value else None
        rows.append(
            AtRiskCustomer(
                user_id=str(user_id),
                churn_probability=float(row["churn_probability"]),
                clv_minor=int(value) if known else None,
                currency=str(currency) if _present(currency) else None,
                expected_loss_minor=round(float(row["loss"])) if known else None,
                next_order_date=str(next_order) if _present(next_order) else None,
                driver=str(driver) if driver else None,
            )
        )
    return rows


def _at_risk_table(churn: pd.DataFrame, clv: pd.DataFrame | None) -> str:
    """The customers whose expected loss (churn probability × CLV) is largest."""
    rows = []
    for row in at_risk(churn, clv):
        value = (
            _money(row.clv_minor, row.currency)
            if row.clv_minor is not None and row.currency
            else "–"
        )
        rows.append(
            f"<tr><td>{html.escape(row.user_id)}</td><td>{row.churn_probability:.0%}</td>"
            f"<td>{value}</td><td>{html.escape(row.next_order_date or '–')}</td>"
            f"<td>{html.escape(row.driver or '')}</td></tr>"
        )
    return (
        "<table><tr><th>user</th><th>churn</th><th>CLV 12 m</th><th>next order</th>"
        f"<th>top driver</th></tr>{''.join(rows)}</table>"
    )


CLV_BINS = 30


@dataclass(frozen=True)
class ClvDistribution:
    """The latest 12-month CLV scores summarised: totals and a histogram in major units (the
    last bin holds everything from the 99th percentile up, so one whale does not flatten it)."""

    customers: int
    currency: str | None
    as_of: str | None
    total_minor: int
    median_minor: int
    top_decile_share: float | None
    edges: tuple[float, ...]
    counts: tuple[int, ...]


def clv_distribution(clv: pd.DataFrame, bins: int = CLV_BINS) -> ClvDistribution | None:
    """Summary and histogram of a `model_scores(con, "clv")` frame; None when it has no CLV."""
    if clv.empty or "clv_minor" not in clv:
        return None
    values = pd.to_numeric(clv["clv_minor"], errors="coerce").dropna().to_numpy(dtype=float)
    if not len(values):
        return None
    currency = str(clv["currency"].dropna().iloc[0]) if "currency" in clv else None
    as_of = str(clv["as_of"].dropna().iloc[0]) if "as_of" in clv else None
    scale = 10 ** exponent(currency) if currency else 100
    major = values / scale
    top = float(np.quantile(major, 0.99))
    upper = top if top > 0 else 1.0  # every CLV zero (or below): one visible range still
    counts, edges = np.histogram(np.clip(major, 0.0, upper), bins=bins, range=(0.0, upper))
    total = float(values.sum())
    ordered = np.sort(values)[::-1]
    decile = ordered[: max(1, len(ordered) // 10)].sum()
    return ClvDistribution(
        customers=len(values),
        currency=currency,
        as_of=as_of,
        total_minor=round(total),
        median_minor=round(float(np.median(values))),
        top_decile_share=float(decile / total) if total > 0 else None,
        edges=tuple(round(float(e), 2) for e in edges),
        counts=tuple(int(c) for c in counts),
    )


def clv_figure(distribution: ClvDistribution) -> go.Figure:
    """Customers per 12-month CLV band."""
    edges = distribution.edges
    centers = [(a + b) / 2 for a, b in pairwise(edges)]
    widths = [b - a for a, b in pairwise(edges)]
    fig = go.Figure(go.Bar(x=centers, y=list(distribution.counts), width=widths))
    fig.update_layout(
        title=translate("report.clv.distribution"),
        xaxis_title=translate("report.clv.axis", currency=distribution.currency or ""),
        yaxis_title=translate("report.clv.customers"),
        height=380,
        bargap=0.02,
    )
    return fig


def lift_figure(evaluation: dict[str, Any]) -> go.Figure:
    """Top-decile lift of the model and of each baseline (1 = no better than chance)."""
    names = [n for n, m in evaluation["rankings"].items() if m.get("top_decile_lift") is not None]
    fig = go.Figure(
        go.Bar(
            x=[translate(f"churn.ranking.{n}") for n in names],
            y=[evaluation["rankings"][n]["top_decile_lift"] for n in names],
        )
    )
    fig.add_hline(y=1.0, line={"dash": "dot", "width": 1})
    fig.update_layout(title=translate("churn.chart.lift"), height=420)
    return fig


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
