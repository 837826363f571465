"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma by maximum likelihood.

Pure numpy/scipy. Fit a transaction model on per-customer (frequency, recency, T) from
`summary_from_transactions`, a spend model on (frequency, monetary_value), then combine them
with `GammaGamma.customer_lifetime_value`. `diagnostics` checks a fit against a holdout.
"""

from tenure.predict.clv.base import ModelParams, NotFittedError, TransactionModel
from tenure.predict.clv.bgnbd import BGNBD, BGNBDParams
from tenure.predict.clv.data import prepare_transactions, summary_from_transactions
from tenure.predict.clv.diagnostics import (
    HoldoutMetrics,
    calibration_vs_holdout,
    holdout_metrics,
    period_transactions,
    predict_holdout,
    roc_auc,
    tracking,
)
from tenure.predict.clv.gammagamma import GammaGamma, GammaGammaParams
from tenure.predict.clv.inputs import InvalidInput
from tenure.predict.clv.paretonbd import ParetoNBD, ParetoNBDParams
from tenure.predict.clv.synthetic import simulate_bgnbd

__all__ = [
    "BGNBD",
    "BGNBDParams",
    "GammaGamma",
    "GammaGammaParams",
    "HoldoutMetrics",
    "InvalidInput",
    "ModelParams",
    "NotFittedError",
    "ParetoNBD",
    "ParetoNBDParams",
    "TransactionModel",
    "calibration_vs_holdout",
    "holdout_metrics",
    "period_transactions",
    "predict_holdout",
    "prepare_transactions",
    "roc_auc",
    "simulate_bgnbd",
    "summary_from_transactions",
    "tracking",
]
