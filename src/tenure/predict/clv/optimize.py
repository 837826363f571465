"""Maximum likelihood over log-parameters: L-BFGS-B with a Nelder-Mead rescue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from tenure.predict.clv.inputs import FloatArray

logger = logging.getLogger(__name__)

Objective = Callable[[FloatArray], tuple[float, FloatArray]]

# Log-parameters stay within exp(±25) ≈ [1e-11, 7e10]: wide enough for any time unit, narrow
# enough that no intermediate overflows.
LOG_BOUND = 25.0
# Tolerance on the gradient of the mean log-likelihood with respect to the log-parameters.
GRADIENT_TOL = 1e-6


@dataclass(frozen=True)
class Optimum:
    """Where the optimiser stopped: log-parameters, mean negative log-likelihood, status."""

    log_params: FloatArray
    mean_nll: float
    converged: bool
    n_evaluations: int
    message: str


def _safe(objective: Objective, counter: list[int]) -> Objective:
    """Turn non-finite values into a large finite penalty so line searches back off."""

    def wrapped(theta: FloatArray) -> tuple[float, FloatArray]:
        counter[0] += 1
        with np.errstate(all="ignore"):
            value, grad = objective(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(theta)
        return value, grad

    return wrapped


def minimize_nll(objective: Objective, start: FloatArray, *, max_iter: int = 2000) -> Optimum:
    """Minimise a mean negative log-likelihood over log-parameters, returning where it stopped."""
    counter = [0]
    safe = _safe(objective, counter)
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    options = {"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20}
    theta = np.asarray(start, dtype=np.float64)
    result = minimize(safe, theta, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    theta = np.asarray(result.x, dtype=np.float64)
    value, grad = safe(theta)
    message = str(result.message)
    if not _stationary(value, grad):
        # L-BFGS-B can stall in a bad line search far from the optimum (flat or overflowing
        # regions); a derivative-free pass moves it out, then L-BFGS-B finishes the job.
        logger.info("L-BFGS-B stopped early (%s); retrying after Nelder-Mead", message)
        rescue = minimize(
            lambda th: safe(np.asarray(th))[0],
            theta,
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": 200 * len(theta), "xatol": 1e-8, "fatol": 1e-13},
        )
        result = minimize(
            safe, rescue.x, jac=True, method="L-BFGS-B", bounds=bounds, options=options
        )
        theta = np.asarray(result.x, dtype=np.float64)
        value, grad = safe(theta)
        message = str(result.message)
    converged = _stationary(value, grad)
    if not converged:
        logger.warning(
            "maximum likelihood did not converge: %s (gradient %s)", message, np.abs(grad).max()
        )
    return Optimum(
        log_params=theta,
        mean_nll=value,
        converged=converged,
        n_evaluations=counter[0],
        message=message,
    )


def _stationary(value: float, grad: FloatArray) -> bool:
    """A finite optimum whose gradient is flat (or which sits on a bound, pushing outwards)."""
    return bool(value < 1e300 and np.abs(grad).max() < GRADIENT_TOL)
