"""Churn risk and next order: leakage-free Ibis features, calibrated LightGBM, SHAP drivers.

From Python, on any Ibis connection (DuckDB or Spark)::

    from tenure.predict.churn import ChurnConfig, evaluate, labelled_features
    result = evaluate(con, "Europe/London", ChurnConfig(horizon_days=90))
    frame = labelled_features(con, date(2024, 3, 31), "Europe/London", 90).execute()
"""

from tenure.predict.churn.features import customer_features, cutoff_instant, labelled_features
from tenure.predict.churn.metrics import RankingMetrics, ranking_metrics
from tenure.predict.churn.model import ChurnModel, ChurnModelError
from tenure.predict.churn.service import (
    ChurnConfig,
    ChurnInputError,
    evaluate,
    feature_frame,
    plan_training,
    score,
    train,
)

__all__ = [
    "ChurnConfig",
    "ChurnInputError",
    "ChurnModel",
    "ChurnModelError",
    "RankingMetrics",
    "customer_features",
    "cutoff_instant",
    "evaluate",
    "feature_frame",
    "labelled_features",
    "plan_training",
    "ranking_metrics",
    "score",
    "train",
]
