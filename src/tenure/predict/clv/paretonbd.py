"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 notes)."""

# `T` (customer age) is the name the papers and lifetimes give this column.
# ruff: noqa: N803

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln, roots_legendre

from tenure.predict.clv.base import ModelParams, TransactionModel, broadcast_history
from tenure.predict.clv.hypergeometric import hyp2f1_unit
from tenure.predict.clv.inputs import (
    CompressedRFM,
    FloatArray,
    IntArray,
    as_column,
    check_frequency,
    dot,
    unique_pairs,
    weighted_counts,
)
from tenure.predict.clv.optimize import Objective

# Gauss-Legendre nodes for P(X(t) = n), integrated over y = log(alpha + tau).
_NODES, _WEIGHTS = roots_legendre(96)


@dataclass(frozen=True)
class ParetoNBDParams(ModelParams):
    """λ ~ Gamma(shape r, rate alpha); dropout rate μ ~ Gamma(shape s, rate beta)."""

    r: float
    alpha: float
    s: float
    beta: float


@dataclass(frozen=True)
class _Rows:
    """Customer rows plus their distinct (x, t_x) and (x, T) pairs, where 2F1 is evaluated."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    recency_pairs: tuple[IntArray, IntArray]
    age_pairs: tuple[IntArray, IntArray]

    @classmethod
    def of(cls, x: FloatArray, t_x: FloatArray, age: FloatArray) -> _Rows:
        """Index the distinct pairs once; they are far fewer than rows (T takes few values)."""
        return cls(x, t_x, age, unique_pairs(x, t_x), unique_pairs(x, age))


@dataclass(frozen=True)
class _Likelihood:
    """log L per row, P(alive) = B/D, and the weighted sum of d log L / d(r, alpha, s, beta)."""

    log_l: FloatArray
    alive: FloatArray
    grad: FloatArray | None


def _log_term(p: ParetoNBDParams, x: FloatArray, t: FloatArray, grad: bool) -> tuple[Any, ...]:
    """log P(t) with A0 = P(t_x) - P(T), and d log P / d(r, alpha, s, beta).

    Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions",
    eqs. (19)-(20): for alpha >= beta, A0 uses 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t));
    otherwise 2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+t)). Euler's transformation rewrites
    both as 2F1(1, ·; r+s+x+1; z) times powers of (alpha+t) and (beta+t), so that
    P(t) = (alpha+t)^-(r+x) (beta+t)^-s G  (alpha >= beta)
    P(t) = (alpha+t)^(1-r-x) (beta+t)^-(s+1) G  (alpha < beta).
    """
    m = p.r + x
    k = m + p.s
    at, bt = p.alpha + t, p.beta + t
    la, lb = np.log(at), np.log(bt)
    if p.alpha >= p.beta:
        g = hyp2f1_unit(m, k + 1, (p.alpha - p.beta) / at, grad=grad)
        log_p = -m * la - p.s * lb + g.log_value
        if not grad:
            return (log_p,)
        d_r = -la + g.d_b + g.d_c
        d_s = -lb + g.d_c
        d_alpha = -m / at + g.d_z * bt / at**2
        d_beta = -p.s / bt - g.d_z / at
    else:
        g = hyp2f1_unit(np.full_like(x, p.s + 1), k + 1, (p.beta - p.alpha) / bt, grad=grad)
        log_p = (1 - m) * la - (p.s + 1) * lb + g.log_value
        if not grad:
            return (log_p,)
        d_r = -la + g.d_c
        d_s = -lb + g.d_b + g.d_c
        d_alpha = (1 - m) / at - g.d_z / bt
        d_beta = -(p.s + 1) / bt + g.d_z * at / bt**2
    return log_p, np.stack([d_r, d_alpha, d_s, d_beta])


def _likelihood(p: ParetoNBDParams, rows: _Rows, weights: FloatArray | None) -> _Likelihood:
    """Eq. (18) of the note: L = C [B + s/(r+s+x) A0], in logs, with P(alive) = B / (B + ...).

    With `weights`, also the weighted sum of d log L / d(r, alpha, s, beta); the 2F1 terms'
    derivatives are summed per distinct (x, t) pair, never spread to rows.
    """
    x, t_x, age = rows.x, rows.t_x, rows.T
    grad = weights is not None
    (first_t, inv_t), (first_age, inv_age) = rows.recency_pairs, rows.age_pairs
    term_t = _log_term(p, x[first_t], t_x[first_t], grad)
    term_age = _log_term(p, x[first_age], age[first_age], grad)
    m = p.r + x
    k = m + p.s
    la_age, lb_age = np.log(p.alpha + age), np.log(p.beta + age)
    log_b = -m * la_age - p.s * lb_age
    share = np.log(p.s / k)
    log_pt, log_p_age = share + term_t[0][inv_t], share + term_age[0][inv_age]
    with np.errstate(divide="ignore"):
        # A0 >= 0 since P(t) decreases in t; it is exactly 0 when t_x = T.
        log_a0 = log_pt + np.log1p(-np.exp(np.minimum(log_p_age - log_pt, 0.0)))
    log_d = np.logaddexp(log_b, log_a0)
    alive = np.exp(log_b - log_d)
    log_c = gammaln(m) - gammaln(p.r) + p.r * np.log(p.alpha) + p.s * np.log(p.beta)
    if weights is None:
        return _Likelihood(log_c + log_d, alive, None)
    w, n = weights, float(weights.sum())
    wb = w * alive
    w_t, w_age = w * np.exp(log_pt - log_d), w * np.exp(log_p_age - log_d)
    w_share = w_t - w_age
    gradient = np.array(
        [
            dot(w, digamma(m))
            - n * digamma(p.r)
            + n * np.log(p.alpha)
            - dot(wb, la_age)
            - dot(w_share, 1.0 / k),
            n * p.r / p.alpha - dot(wb, m / (p.alpha + age)),
            n * np.log(p.beta) - dot(wb, lb_age) + dot(w_share, 1.0 / p.s - 1.0 / k),
            n * p.s / p.beta - p.s * dot(wb, 1.0 / (p.beta + age)),
        ]
    )
    gradient += np.einsum("kp,p->k", term_t[1], weighted_counts(inv_t, w_t, first_t.size))
    gradient -= np.einsum("kp,p->k", term_age[1], weighted_counts(inv_age, w_age, first_age.size))
    return _Likelihood(log_c + log_d, alive, gradient)


class ParetoNBD(TransactionModel[ParetoNBDParams]):
    """Pareto/NBD: Poisson purchases while alive, exponential lifetimes, gamma heterogeneity.

    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who are
    they and what will they do next? Management Science 33(1), 1-24. Formulas and equation
    numbers follow Fader, P. S. & Hardie, B. G. S. (2005), "A note on deriving the Pareto/NBD
    model and related expressions" (brucehardie.com/notes/009).
    """

    def _make_params(self, values: FloatArray) -> ParetoNBDParams:
        """Pareto/NBD parameters from (r, alpha, s, beta)."""
        return ParetoNBDParams(*(float(v) for v in values))

    def _start(self, data: CompressedRFM) -> FloatArray:
        """r = s = 1, alpha from the mean purchase rate and beta = alpha (so 2F1's z is 0)."""
        rate = dot(data.weights, data.frequency) / max(dot(data.weights, data.T), 1e-12)
        alpha = 1.0 / max(rate, 1e-6)
        return np.log(np.array([1.0, alpha, 1.0, alpha]))

    def _objective(self, data: CompressedRFM) -> Objective:
        """Eq. (18) summed over distinct rows, with its gradient (series derivatives of 2F1)."""
        rows = _Rows.of(data.frequency, data.recency, data.T)
        w, n = data.weights, data.n_customers

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            params = ParetoNBDParams(*(float(v) for v in np.exp(theta)))
            lik = _likelihood(params, rows, w)
            assert lik.grad is not None
            grad = lik.grad * np.exp(theta)
            return -dot(w, lik.log_l) / n, -grad / n

        return objective

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Per-customer log-likelihood, eq. (18) of Fader & Hardie (2005)."""
        x, t_x, age = broadcast_history(frequency, recency, T)
        rows = _Rows.of(x.ravel(), t_x.ravel(), age.ravel())
        return _likelihood(self._fitted(), rows, None).log_l.reshape(x.shape)

    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """P(alive | x, t_x, T), eq. (36)-(37): the no-dropout share of the likelihood."""
        x, t_x, age = broadcast_history(frequency, recency, T)
        rows = _Rows.of(x.ravel(), t_x.ravel(), age.ravel())
        return _likelihood(self._fitted(), rows, None).alive.reshape(x.shape)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """E[Y(t) | x, t_x, T], eq. (41): P(alive) (r+x)/(alpha+T) (beta+T) h(s, t/(beta+T))."""
        p = self._fitted()
        horizon = as_column(t, "t", any_shape=True)
        alive = self.conditional_probability_alive(frequency, recency, T)
        x, _, age = broadcast_history(frequency, recency, T)
        rate = (p.r + x) / (p.alpha + age)
        lifetime = (p.beta + age) * _lifetime_integral(p.s, horizon / (p.beta + age))
        return np.asarray(alive * rate * lifetime)

    def expected_purchases_new_customer(self, t: Any) -> FloatArray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)], eq. (17) of the note."""
        p = self._fitted()
        horizon = as_column(t, "t", any_shape=True)
        return np.asarray(p.r / p.alpha * p.beta * _lifetime_integral(p.s, horizon / p.beta))

    def probability_of_n_purchases_up_to_time(self, t: Any, n: Any) -> FloatArray:
        """P(X(t) = n) = NBD(n; t) P(τ > t) + ∫_0^t NBD(n; τ) f(τ) dτ, τ the lifetime.

        This is the mixture that Fader & Hardie (2006), "Deriving an expression for P(X(t) = x)
        under the Pareto/NBD model", integrate in closed form; its sums of 2F1 terms cancel badly
        for large n, so the integral over the lifetime τ is taken by Gauss-Legendre on
        y = log(alpha + τ), which moves the singularity at τ = -alpha to infinity.
        """
        p = self._fitted()
        horizon = as_column(t, "t", any_shape=True)
        count = as_column(n, "n", any_shape=True)
        check_frequency(count, n)
        horizon, count = np.broadcast_arrays(horizon, count)
        shape = horizon.shape
        tt, cc = horizon.reshape(-1, 1), count.reshape(-1, 1)
        lo, hi = np.log(p.alpha), np.log(p.alpha + tt)
        y = (hi - lo) / 2 * _NODES + (hi + lo) / 2
        tau = np.maximum(np.exp(y) - p.alpha, 0.0)
        log_f = np.log(p.s) + p.s * np.log(p.beta) - (p.s + 1) * np.log(p.beta + tau)
        integrand = np.exp(_log_nbd(p, cc, tau) + log_f + y)
        integral = ((hi - lo) / 2 * _WEIGHTS * integrand).sum(axis=1)
        t_end, n_end = tt[:, 0], cc[:, 0]
        survive = np.exp(_log_nbd(p, n_end, t_end) + p.s * np.log(p.beta / (p.beta + t_end)))
        return np.asarray((survive + integral).reshape(shape))


def _log_nbd(p: ParetoNBDParams, n: FloatArray, t: FloatArray) -> FloatArray:
    """log P(n purchases in t | alive throughout): the NBD, with 0^0 = 1 at t = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(n > 0, n * np.log(t / (p.alpha + t)), 0.0)
    return np.asarray(
        gammaln(p.r + n)
        - gammaln(p.r)
        - gammaln(n + 1)
        + p.r * np.log(p.alpha / (p.alpha + t))
        + tail
    )


def _lifetime_integral(s: float, u: FloatArray) -> FloatArray:
    """[1 - (1+u)^-(s-1)] / (s-1), continuous at s = 1 where it is log(1+u)."""
    if abs(s - 1.0) < 1e-12:
        return np.asarray(np.log1p(u))
    return np.asarray(-np.expm1(-(s - 1.0) * np.log1p(u)) / (s - 1.0))
