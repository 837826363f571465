"""Scores of a churn ranking on a later window: ROC-AUC, PR-AUC, top-decile lift, calibration."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class CalibrationBin:
    """Customers in one band of predicted probability: mean prediction vs observed rate."""

    customers: int
    predicted: float
    observed: float


@dataclass(frozen=True)
class RankingMetrics:
    """How well a score ranks churners first; calibration only for probabilities."""

    customers: int
    churn_rate: float
    roc_auc: float | None
    pr_auc: float | None
    top_decile_lift: float | None
    brier: float | None = None
    calibration_error: float | None = None
    calibration: tuple[CalibrationBin, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain values, rounded for reports."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 4)
        out["calibration"] = [
            {k: round(v, 4) if isinstance(v, float) else v for k, v in b.items()}
            for b in out["calibration"]
        ]
        return out


def top_decile_lift(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Churn rate among the 10% highest scores over the overall rate (ties broken by order)."""
    n = len(labels)
    base = float(labels.mean()) if n else 0.0
    if n < 10 or base == 0.0:
        return None
    top = np.argsort(-scores, kind="stable")[: max(1, n // 10)]
    return float(labels[top].mean()) / base


def calibration_bins(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS
) -> tuple[CalibrationBin, ...]:
    """Equal-width bins of predicted probability with their observed churn rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            out.append(
                CalibrationBin(
                    customers=int(mask.sum()),
                    predicted=float(probabilities[mask].mean()),
                    observed=float(labels[mask].mean()),
                )
            )
    return tuple(out)


def ranking_metrics(labels: Any, scores: Any, *, probability: bool = False) -> RankingMetrics:
    """Metrics of `scores` (higher = more likely to churn) against 0/1 churn labels."""
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(s).all():
        # A model that could not score everyone (e.g. a BG/NBD fit on degenerate histories gives
        # NaN): its metrics cannot be computed, which the report shows as missing, not a crash.
        return RankingMetrics(len(y), float(y.mean()) if len(y) else 0.0, None, None, None)
    both = 0 < y.sum() < len(y)
    metrics: dict[str, Any] = {
        "customers": len(y),
        "churn_rate": float(y.mean()) if len(y) else 0.0,
        "roc_auc": float(roc_auc_score(y, s)) if both else None,
        "pr_auc": float(average_precision_score(y, s)) if both else None,
        "top_decile_lift": top_decile_lift(y, s),
    }
    if probability and len(y):
        bins = calibration_bins(y, s)
        metrics["brier"] = float(brier_score_loss(y, s))
        # Expected calibration error: the customer-weighted gap between prediction and outcome.
        metrics["calibration_error"] = sum(
            b.customers * abs(b.predicted - b.observed) for b in bins
        ) / len(y)
        metrics["calibration"] = bins
    return RankingMetrics(**metrics)
