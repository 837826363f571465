"""Predictions: the churn model's evaluation (verdict, metrics, calibration, lift, features), and,
loaded after the page, the CLV distribution and the valuable customers most at risk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from tenure.i18n import use_locale
from tenure.operators.service import Who
from tenure.predict.churn.report import (
    METRICS,
    AtRiskCustomer,
    ClvDistribution,
    at_risk,
    calibration_figure,
    clv_distribution,
    clv_figure,
    importance_figure,
    lift_figure,
    model_beats,
    scores_use,
    verdict,
)
from tenure.predict.churn.service import stored_evaluation
from tenure.predict.scores import model_scores
from tenure.web import render
from tenure.web.cache import answer
from tenure.web.deps import reader

router = APIRouter(include_in_schema=False)

AT_RISK_ROWS = 25


@dataclass(frozen=True)
class RankingRow:
    """One line of the metrics table: a ranking (the model or a baseline) and its metrics."""

    name: str
    metrics: dict[str, Any]
    beats: str
    used: bool


def _rankings(evaluation: dict[str, Any]) -> list[RankingRow]:
    return [
        RankingRow(name, metrics, model_beats(evaluation, name), bool(scores_use(evaluation, name)))
        for name, metrics in evaluation["rankings"].items()
    ]


@router.get("/predictions", response_class=HTMLResponse)
def predictions(request: Request, who: Annotated[Who, Depends(reader)]) -> HTMLResponse:
    settings = request.app.state.settings
    with use_locale(who.locale):
        stored = stored_evaluation(settings.home)
        evaluation = stored.evaluation if stored else None
        figures = (
            (calibration_figure(evaluation), lift_figure(evaluation), importance_figure(evaluation))
            if evaluation
            else ()
        )
        return render.page(
            request,
            who,
            "predictions.html",
            model=stored,
            evaluation=evaluation,
            verdict=verdict(evaluation) if evaluation else "",
            rankings=_rankings(evaluation) if evaluation else [],
            metrics=METRICS,
            figures=figures,
        )


@router.get("/predictions/scores", response_class=HTMLResponse)
def prediction_scores(request: Request, who: Annotated[Who, Depends(reader)]) -> HTMLResponse:
    """The part that reads every customer's scores: loaded by htmx once the page is shown."""

    def compute() -> tuple[ClvDistribution | None, list[AtRiskCustomer]]:
        with request.app.state.warehouse.reader() as con:
            churn = model_scores(con, "churn")
            clv = model_scores(con, "clv")
        return clv_distribution(clv), at_risk(churn, clv, AT_RISK_ROWS)

    with use_locale(who.locale):
        distribution, customers = answer(request, ("prediction_scores",), compute)
        return render.page(
            request,
            who,
            "_predictions_scores.html",
            distribution=distribution,
            clv_chart=clv_figure(distribution) if distribution else None,
            at_risk=customers,
            has_clv=distribution is not None,
        )
