"""Synthetic customer histories for the CLV tests, drawn from the models' own processes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tenure.predict.clv import ParetoNBDParams, TransactionModel
from tenure.predict.clv.inputs import FloatArray, compress, validate_rfm
from tenure.predict.clv.optimize import numerical_hessian


def pareto_nbd_customers(
    n: int, params: ParetoNBDParams, *, max_age: float = 52.0, seed: int = 0
) -> pd.DataFrame:
    """Pareto/NBD histories: exponential lifetime τ, Poisson purchases until min(τ, T), by day."""
    rng = np.random.default_rng(seed)
    age = rng.integers(1, int(max_age * 7) + 1, n) / 7
    rate = rng.gamma(params.r, 1 / params.alpha, n)
    death = rng.gamma(params.s, 1 / params.beta, n)
    active = np.minimum(rng.exponential(1 / death), age)
    x = rng.poisson(rate * active)
    recency = np.zeros(n)
    bought = x > 0
    # The last of x uniform purchase times on [0, active] is active · Beta(x, 1).
    recency[bought] = active[bought] * rng.beta(x[bought], 1)
    recency = np.minimum(np.round(recency * 7) / 7, age)
    return pd.DataFrame({"frequency": x, "recency": recency, "T": age})


def relative_error(fitted: dict[str, float], truth: dict[str, float]) -> dict[str, float]:
    """|fitted / truth - 1| per parameter."""
    return {k: abs(fitted[k] / truth[k] - 1) for k in truth}


def standard_scores(
    model: TransactionModel[Any], customers: pd.DataFrame, truth: FloatArray
) -> FloatArray:
    """(log fitted - log true) / standard error, from the observed information matrix."""
    rows = compress(validate_rfm(customers["frequency"], customers["recency"], customers["T"]))
    fitted = np.log(model.params_.values())
    information = numerical_hessian(model._objective(rows), fitted) * rows.n_customers
    standard_errors = np.sqrt(np.diag(np.linalg.inv(information)))
    return np.asarray((fitted - np.log(truth)) / standard_errors)
