"""Maximum likelihood over log-parameters: BLAS-free quasi-Newton, L-BFGS-B as the fallback."""

from __future__ import annotations

import logging
import math
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
# A fit counts as converged when the gradient of the mean log-likelihood with respect to the
# log-parameters is below this.
GRADIENT_TOL = 1e-6
# The quasi-Newton search goes on to this stricter gradient: ~6 significant digits.
NEWTON_TOL = 1e-9
# One step moves each log-parameter by at most this much (a factor e^3), so that a poor early
# Hessian cannot throw the search into overflow.
MAX_STEP = 3.0
_NEWTON_STEPS = 200
_HALVINGS = 40


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


def numerical_hessian(
    objective: Objective, theta: FloatArray, step: float = 1e-4, *, central: bool = True
) -> FloatArray:
    """Hessian by differences of the analytic gradient (central, or forward: half the cost)."""
    size = len(theta)
    hessian = np.empty((size, size))
    base = None if central else objective(theta)[1]
    for i in range(size):
        shift = np.zeros(size)
        shift[i] = step
        ahead = objective(theta + shift)[1]
        if base is None:
            hessian[:, i] = (ahead - objective(theta - shift)[1]) / (2 * step)
        else:
            hessian[:, i] = (ahead - base) / step
    return (hessian + hessian.T) / 2


def _solve(matrix: FloatArray, rhs: FloatArray) -> FloatArray | None:
    """Solve A x = b by Cholesky for a small A; None unless A is positive definite.

    Plain Python on purpose: with 3-4 parameters BLAS buys nothing, and on a busy 2-core
    machine every OpenBLAS call (LAPACK, matmul, scipy's L-BFGS-B) cost milliseconds of
    thread wake-ups, more than the whole likelihood of CDNOW.
    """
    a, b = matrix.tolist(), rhs.tolist()
    k = len(b)
    low = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1):
            s = a[i][j] - sum(low[i][m] * low[j][m] for m in range(j))
            if i == j:
                if not s > 0:
                    return None
                low[i][i] = math.sqrt(s)
            else:
                low[i][j] = s / low[j][j]
    y = [0.0] * k
    for i in range(k):
        y[i] = (b[i] - sum(low[i][m] * y[m] for m in range(i))) / low[i][i]
    x = [0.0] * k
    for i in reversed(range(k)):
        x[i] = (y[i] - sum(low[m][i] * x[m] for m in range(i + 1, k))) / low[i][i]
    return np.array(x)


def _positive_definite(hessian: FloatArray) -> FloatArray:
    """The Hessian plus the smallest multiple of I (from 0 up) that makes it positive definite."""
    probe = np.ones(len(hessian))
    shift = 0.0
    scale = max(float(np.abs(np.diag(hessian)).max()), 1e-8)
    while _solve(hessian + shift * np.eye(len(hessian)), probe) is None:
        shift = max(2 * shift, 1e-3 * scale)
    return np.asarray(hessian + shift * np.eye(len(hessian)))


def _quasi_newton(
    objective: Objective, theta: FloatArray, hessian: FloatArray
) -> tuple[FloatArray, float, FloatArray] | None:
    """Newton steps with BFGS updates of the Hessian and backtracking; None if stuck.

    A step is taken when it lowers the value, or, once the value no longer changes beyond
    rounding, when it shrinks the gradient (which is exact where the value is noise).
    """
    hessian = _positive_definite(hessian)
    value, grad = objective(theta)
    for _ in range(_NEWTON_STEPS):
        if np.abs(grad).max() < NEWTON_TOL:
            return theta, value, grad
        direction = _solve(hessian, -grad)
        if direction is None or float(np.einsum("i,i->", direction, grad)) >= 0:
            return None
        direction *= min(1.0, MAX_STEP / float(np.abs(direction).max()))
        noise = 1e-13 * (1.0 + abs(value))
        for halving in range(_HALVINGS):
            candidate = theta + direction / 2**halving
            new_value, new_grad = objective(candidate)
            if new_value < value - noise or (
                abs(new_value - value) <= noise and np.abs(new_grad).max() < np.abs(grad).max()
            ):
                break
        else:
            return None
        moved, change = candidate - theta, new_grad - grad
        curvature = float(np.einsum("i,i->", change, moved))
        pushed = np.einsum("ij,j->i", hessian, moved)
        bending = float(np.einsum("i,i->", moved, pushed))
        if curvature > 1e-12 * math.sqrt(float(np.einsum("i,i->", change, change))) and bending > 0:
            hessian = hessian + np.outer(change, change) / curvature
            hessian = hessian - np.outer(pushed, pushed) / bending
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

    Quasi-Newton from `hessian` (a subsample's, near the optimum) or from the numerical Hessian
    at the start; if that stalls, L-BFGS-B with a Nelder-Mead rescue takes over.
    """
    counter = [0]
    safe = _safe(objective, counter)
    theta = np.clip(np.asarray(start, dtype=np.float64), -LOG_BOUND, LOG_BOUND)
    if hessian is None:
        # Only a starting matrix for the BFGS updates: forward differences are precise enough.
        hessian = numerical_hessian(safe, theta, central=False)
    found = _quasi_newton(safe, theta, hessian)
    if found is not None and np.all(np.abs(found[0]) < LOG_BOUND):
        return Optimum(found[0], found[1], True, counter[0], "quasi-Newton")
    logger.info("quasi-Newton stalled; falling back to L-BFGS-B")
    return _fallback(safe, theta, max_iter, counter)


def _fallback(safe: Objective, theta: FloatArray, max_iter: int, counter: list[int]) -> Optimum:
    """L-BFGS-B within the log bounds; Nelder-Mead first when it stops far from an optimum."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(theta)
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
        # Recorded on the fit (`converged_`, and `converged` in every CLV result); a log line
        # at warning level would land in the middle of `tenure demo`'s output.
        logger.info(
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
