"""HTTP: train and evaluate churn, score CLV (admin scope); scores land in the warehouse."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request

from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal
from tenure.predict.churn.schemas import (
    ChurnEvaluation,
    ChurnTrainRequest,
    ChurnTrainResult,
    ClvScoreRequest,
    ClvScoreResult,
)
from tenure.predict.churn.service import ChurnConfig, evaluate
from tenure.predict.service import score_churn, score_clv, train_churn

router = APIRouter(prefix="/v1/predict", tags=["predict"])


@router.post("/churn/train", response_model=ChurnTrainResult, summary="Train churn, write scores")
def churn_train(
    body: ChurnTrainRequest, request: Request, _who: Principal = Depends(require("admin"))
) -> ChurnTrainResult:
    """Train a calibrated LightGBM churn model as a new version and score every customer."""
    settings, warehouse = request.app.state.settings, request.app.state.warehouse
    config = ChurnConfig(horizon_days=body.horizon_days, windows=body.windows)
    trained = train_churn(settings, warehouse, config, body.as_of)
    scored = 0
    if body.score:
        _, values = score_churn(
            settings, warehouse, as_of=body.as_of, version=str(trained["version"])
        )
        scored = len(values)
    return ChurnTrainResult.model_validate({**trained, "scored": scored})


@router.get(
    "/churn/evaluation", response_model=ChurnEvaluation, summary="Churn ranking on a later window"
)
def churn_evaluation(
    request: Request,
    horizon_days: int = Query(90, ge=7, le=730),
    cutoff: date | None = Query(None, description="Customers as of this day."),
    windows: int = Query(3, ge=1, le=12),
    _who: Principal = Depends(require("admin")),
) -> ChurnEvaluation:
    """ROC-AUC, PR-AUC, top-decile lift and calibration against recency and BG/NBD baselines."""
    settings = request.app.state.settings
    config = ChurnConfig(horizon_days=horizon_days, windows=windows)
    with request.app.state.warehouse.reader() as con:
        result = evaluate(con, settings.zone, config, cutoff)
    return ChurnEvaluation.model_validate(result)


@router.post("/clv/score", response_model=ClvScoreResult, summary="Write CLV scores")
def clv_score(
    body: ClvScoreRequest, request: Request, _who: Principal = Depends(require("admin"))
) -> ClvScoreResult:
    """P(alive), expected orders in 30/90 days and 12-month CLV per customer, into `scores`."""
    settings = request.app.state.settings
    result = score_clv(
        request.app.state.warehouse, settings.zone, body.currency, body.observation_end
    )
    return ClvScoreResult.model_validate(result)
