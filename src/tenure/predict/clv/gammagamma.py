"""Gamma-Gamma spend model and CLV (Fader, Hardie & Lee 2005, "RFM and CLV")."""

# `T` (customer age) is the name the papers and lifetimes give this column.
# ruff: noqa: N803

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy.special import digamma, gammaln

from tenure.predict.clv.base import ModelParams, NotFittedError, TransactionModel
from tenure.predict.clv.inputs import (
    FloatArray,
    InvalidInput,
    as_column,
    check_frequency,
    dot,
    weighted_counts,
)
from tenure.predict.clv.optimize import minimize_nll
from tenure.predict.clv.timeunits import TimeUnit, days_per_unit

logger = logging.getLogger(__name__)

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class GammaGammaParams(ModelParams):
    """Spend per transaction ~ Gamma(p, ν); ν ~ Gamma(shape q, rate gamma) across customers."""

    p: float
    q: float
    gamma: float


def _spend_columns(frequency: Any, monetary_value: Any) -> tuple[FloatArray, FloatArray]:
    """Checked frequency and average spend, broadcast together."""
    x = as_column(frequency, "frequency", any_shape=True)
    check_frequency(x, frequency)
    m = as_column(monetary_value, "monetary_value", any_shape=True)
    try:
        x, m = np.broadcast_arrays(x, m)
    except ValueError as exc:
        raise InvalidInput("monetary_value", f"cannot broadcast with frequency ({exc})") from None
    return x, m


class GammaGamma:
    """Gamma-Gamma model of the average spend per repeat transaction.

    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
    customer base analysis. Journal of Marketing Research 42(4), 415-430; the likelihood and the
    conditional expectation follow Fader & Hardie (2013), "The Gamma-Gamma model of monetary
    value" (brucehardie.com/notes/025), eqs. (1)-(5). Spend is assumed independent of the
    transaction process (check the correlation of frequency and monetary value first).
    """

    params_: GammaGammaParams
    log_likelihood_: float
    converged_: bool
    fit_message_: str
    n_customers_: float

    def __init__(self, penalizer: float = 0.0, max_iter: int = 2000) -> None:
        if penalizer < 0:
            raise ValueError("penalizer must be >= 0")
        self.penalizer = penalizer
        self.max_iter = max_iter

    def fit(
        self,
        frequency: Any,
        monetary_value: Any,
        weights: Any = None,
        *,
        initial_params: GammaGammaParams | None = None,
    ) -> Self:
        """Fit on customers with frequency > 0 (others carry no repeat spend and are skipped)."""
        x, m = _spend_columns(frequency, monetary_value)
        w = np.ones_like(x) if weights is None else as_column(weights, "weights")
        if w.shape != x.shape:
            raise InvalidInput("weights", f"has {w.size} values but frequency has {x.size}")
        repeat = (x > 0) & (w > 0)
        if not repeat.any():
            raise InvalidInput("frequency", "no customer has a repeat purchase (frequency > 0)")
        bad = repeat & (m <= 0)
        if bad.any():
            raise InvalidInput(
                "monetary_value",
                f"{int(bad.sum())} customers with frequency > 0 have a spend <= 0; the "
                "Gamma-Gamma model needs positive average spend per repeat transaction",
            )
        x, m, w = x[repeat], m[repeat], w[repeat]
        n = float(w.sum())
        spend = m * x
        log_m = np.log(m)
        # Terms in x alone are evaluated once per distinct x (a few dozen), weighted by counts.
        ux, inv = np.unique(x, return_inverse=True)
        wx = weighted_counts(inv, w, ux.size)
        constant_p = dot(w, x * (log_m + np.log(x)))  # Σ w x (log m + log x), times p
        constant = -dot(w, log_m)

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            p, q, gamma = np.exp(theta)
            pux = p * ux
            log_total = np.log(gamma + spend)
            wx_log_total = dot(w * x, log_total)
            w_log_total = dot(w, log_total)
            ll = (
                dot(wx, gammaln(pux + q) - gammaln(pux))
                + p * constant_p
                + constant
                - p * wx_log_total
                - q * w_log_total
                + n * (q * np.log(gamma) - gammaln(q))
            )
            psi = digamma(pux + q)
            g_p = dot(wx * ux, psi - digamma(pux)) + constant_p - wx_log_total
            g_q = dot(wx, psi) - w_log_total + n * (np.log(gamma) - digamma(q))
            g_gamma = n * q / gamma - dot(w, (p * x + q) / (gamma + spend))
            grad = np.array([g_p, g_q, g_gamma]) * np.exp(theta)
            squares = np.exp(2 * theta)
            penalty = self.penalizer * float(squares.sum())
            return -ll / n + penalty, -grad / n + 2 * self.penalizer * squares

        start = (
            np.log(initial_params.values())
            if initial_params is not None
            else np.log([1.0, 2.0, dot(w, m) / n])  # p γ / (q - 1) equals the mean spend
        )
        optimum = minimize_nll(objective, start, max_iter=self.max_iter)
        values = np.exp(optimum.log_params)
        self.params_ = GammaGammaParams(*(float(v) for v in values))
        penalty = self.penalizer * float(np.sum(values**2))
        self.log_likelihood_ = -(optimum.mean_nll - penalty) * n
        self.converged_ = optimum.converged
        self.fit_message_ = optimum.message
        self.n_customers_ = n
        logger.info("GammaGamma fitted on %d customers: %s", n, self.params_)
        return self

    def _fitted(self) -> GammaGammaParams:
        """The fitted parameters, or a clear error before fit()."""
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError("GammaGamma is not fitted yet: call fit() first")
        return params

    def log_likelihood(self, frequency: Any, monetary_value: Any) -> FloatArray:
        """Per-customer log density of the observed average spend, eq. (3) of the 2013 note."""
        p = self._fitted()
        x, m = _spend_columns(frequency, monetary_value)
        px = p.p * x
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = (
                gammaln(px + p.q)
                - gammaln(px)
                - gammaln(p.q)
                + p.q * np.log(p.gamma)
                + (px - 1) * np.log(m)
                + px * np.log(x)
                - (px + p.q) * np.log(p.gamma + m * x)
            )
        return np.asarray(np.where(x > 0, ll, np.nan))

    def expected_average_profit_new_customer(self) -> float:
        """E[M] = p γ / (q - 1) for a customer without repeat purchases (infinite if q <= 1)."""
        p = self._fitted()
        return p.p * p.gamma / (p.q - 1) if p.q > 1 else float("inf")

    def conditional_expected_average_profit(
        self, frequency: Any, monetary_value: Any
    ) -> FloatArray:
        """E[M | x, m_x] = p (γ + x m_x) / (p x + q - 1), eq. (5) of the 2013 note.

        A weighted average of the population mean p γ / (q - 1) and the customer's own m_x;
        customers with x = 0 get the population mean.
        """
        p = self._fitted()
        x, m = _spend_columns(frequency, monetary_value)
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = p.p * (p.gamma + x * m) / (p.p * x + p.q - 1)
        return np.asarray(np.where(x > 0, expected, self.expected_average_profit_new_customer()))

    def customer_lifetime_value(
        self,
        transaction_model: TransactionModel[Any],
        frequency: Any,
        recency: Any,
        T: Any,
        monetary_value: Any,
        *,
        months: int = 12,
        discount_rate: float = 0.01,
        margin: float = 1.0,
        time_unit: TimeUnit = "W",
    ) -> FloatArray:
        """Discounted value of the next `months`: Σ_i margin E[M] ΔE[Y]_i / (1 + d)^i.

        ΔE[Y]_i is the expected number of purchases in month i from the transaction model
        (conditional on each history), E[M] the conditional expected spend; discount_rate is
        per month (lifetimes' convention) and `time_unit` the unit the models were fitted in.
        Fader, Hardie & Lee (2005), "RFM and CLV", section "Computing CLV" (discrete version).
        """
        if months < 1:
            raise ValueError("months must be >= 1")
        if discount_rate <= -1:
            raise ValueError("discount_rate must be > -1")
        spend = self.conditional_expected_average_profit(frequency, monetary_value)
        units_per_month = DAYS_PER_MONTH / days_per_unit(time_unit)
        value = np.zeros(np.broadcast(spend, np.asarray(T)).shape)
        previous = np.zeros_like(value)
        for month in range(1, months + 1):
            cumulative = transaction_model.expected_purchases(
                month * units_per_month, frequency, recency, T
            )
            value = value + (cumulative - previous) / (1 + discount_rate) ** month
            previous = cumulative
        return np.asarray(margin * spend * value)
