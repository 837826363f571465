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
# Newton refinement stops at a stricter gradient: ~6 significant digits in the parameters.
NEWTON_TOL = 1e-9


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


def numerical_hessian(objective: Objective, theta: FloatArray, step: float = 1e-4) -> FloatArray:
    """Hessian by central differences of the analytic gradient, symmetrised."""
    size = len(theta)
    hessian = np.empty((size, size))
    for i in range(size):
        shift = np.zeros(size)
        shift[i] = step
        hessian[:, i] = (objective(theta + shift)[1] - objective(theta - shift)[1]) / (2 * step)
    return (hessian + hessian.T) / 2


def _newton(
    objective: Objective, theta: FloatArray, hessian: FloatArray, max_steps: int = 40
) -> FloatArray | None:
    """Quasi-Newton steps from a subsample's Hessian; None when they do not converge.

    A subsample's mean-NLL Hessian is close to the full data's, so even the first step shrinks
    the gradient by roughly the sampling error, and BFGS updates correct the rest: a handful of
    passes over the full data suffice.
    """
    if not np.all(np.linalg.eigvalsh(hessian) > 0):
        return None
    value, grad = objective(theta)
    for _ in range(max_steps):
        if np.abs(grad).max() < NEWTON_TOL:
            return theta
        direction = -np.linalg.solve(hessian, grad)
        for halving in range(12):
            candidate = theta + direction / 2**halving
            new_value, new_grad = objective(candidate)
            if new_value <= value or np.abs(new_grad).max() < np.abs(grad).max():
                break
        else:
            return None
        # BFGS update: the sample's Hessian becomes the full data's within a few steps.
        moved, change = candidate - theta, new_grad - grad
        curvature = float(change @ moved)
        if curvature > 0:
            pushed = hessian @ moved
            hessian = (
                hessian
                + np.outer(change, change) / curvature
                - np.outer(pushed, pushed) / float(moved @ pushed)
            )
        theta, value, grad = candidate, new_value, new_grad
    return None


def minimize_nll(
    objective: Objective,
    start: FloatArray,
    *,
    max_iter: int = 2000,
    hessian: FloatArray | None = None,
) -> Optimum:
    """Minimise a mean negative log-likelihood over log-parameters, returning where it stopped.

    With `hessian` (near the optimum), fixed-Hessian Newton steps are tried first.
    """
    counter = [0]
    safe = _safe(objective, counter)
    theta = np.asarray(start, dtype=np.float64)
    if hessian is not None:
        found = _newton(safe, theta, hessian)
        if found is not None:
            value, grad = safe(found)
            return Optimum(found, value, _stationary(value, grad), counter[0], "Newton")
        logger.info("Newton steps from the warm start failed; falling back to L-BFGS-B")
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    options = {"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20}
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
    """A finite point where the gradient is flat (an optimum on a bound does not count)."""
    return bool(value < 1e300 and np.abs(grad).max() < GRADIENT_TOL)
