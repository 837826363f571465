"""HTTP input and output of the prediction endpoints."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from tenure.analytics.currency import CURRENCY_HELP, CurrencyCode


class ChurnTrainRequest(BaseModel):
    """Train a new churn model version and (by default) write every customer's churn score."""

    horizon_days: int = Field(90, ge=7, le=730, description="Churn = no paid order in N days.")
    as_of: date | None = Field(None, description="Use data up to this day (default: the last).")
    windows: int = Field(3, ge=1, le=12, description="Training cut-offs, 30 days apart.")
    score: bool = Field(True, description="Write churn scores for every customer.")


class ChurnTrainResult(BaseModel):
    """The stored model version and what was written."""

    version: str
    as_of: date
    horizon_days: int
    label_days: int
    cutoffs: list[date]
    training_rows: int
    scored: int
    importance: dict[str, float]
    ranker: str = Field(
        "model", description="Where the scores come from: the model or the baseline that won."
    )
    selection: dict[str, Any] = Field(
        default_factory=dict,
        description="The evaluation on the last window before as_of that chose the ranker.",
    )


class ClvScoreRequest(BaseModel):
    """Refit BG/NBD and Gamma-Gamma and write every customer's CLV score."""

    observation_end: date | None = None
    currency: CurrencyCode | None = Field(default=None, description=CURRENCY_HELP)


class ClvScoreResult(BaseModel):
    """The CLV score version (the observation end) and the fitted parameters."""

    version: str
    written: int
    currency: str = Field(description="The currency of the orders fitted and of the scores.")
    params: dict[str, dict[str, float]]


class ChurnComparison(BaseModel):
    """Whether the model beats each baseline, and which ranking the scores use."""

    metric: str = Field(description="The metric that decides: roc_auc.")
    model_beats: dict[str, dict[str, bool | None]] = Field(
        description="Per baseline, per metric (roc_auc, pr_auc, top_decile_lift)."
    )
    best_baseline: str | None
    model_wins: bool
    ranker: str = Field(description="The ranking the scores use: model or a baseline.")
    code: str
    message: str


class ChurnEvaluation(BaseModel):
    """Ranking quality of the model and baselines on a later window."""

    cutoff: date
    window_end: date
    horizon_days: int
    training_cutoffs: list[date]
    training_label_days: int
    training_rows: int
    customers: int
    churn_rate: float
    rankings: dict[str, dict[str, Any]]
    comparison: ChurnComparison
    importance: dict[str, float]
