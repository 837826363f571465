"""What every transaction model shares: the fit flow, fitted attributes and prediction API."""

# `T` (customer age) is the name the papers and lifetimes give this column.
# ruff: noqa: N803

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import asdict, astuple, dataclass
from typing import Any, Generic, Self, TypeVar

import numpy as np

from tenure.predict.clv.inputs import (
    CompressedRFM,
    FloatArray,
    InvalidInput,
    as_column,
    check_frequency,
    compress,
    validate_rfm,
)
from tenure.predict.clv.optimize import Objective, minimize_nll, numerical_hessian

logger = logging.getLogger(__name__)

# Above this many distinct rows, a fit on a random subsample of customers gives the starting
# point: the full data then needs only the last few iterations (each costs a pass over rows).
WARM_START_ROWS = 30_000
WARM_START_CUSTOMERS = 30_000


@dataclass(frozen=True)
class ModelParams:
    """Base of the fitted-parameter dataclasses: positional values in the papers' order."""

    def as_dict(self) -> dict[str, float]:
        """The parameters by name."""
        return {k: float(v) for k, v in asdict(self).items()}

    def values(self) -> FloatArray:
        """The parameters as an array, in declaration order."""
        return np.array(astuple(self), dtype=np.float64)


P = TypeVar("P", bound=ModelParams)


class NotFittedError(RuntimeError):
    """A prediction was asked of a model that has not been fitted."""


def broadcast_history(frequency: Any, recency: Any, T: Any) -> tuple[FloatArray, ...]:
    """Customer histories for prediction: checked like fit inputs, broadcast together."""
    x = as_column(frequency, "frequency", any_shape=True)
    check_frequency(x, frequency)
    t_x = as_column(recency, "recency", any_shape=True)
    age = as_column(T, "T", any_shape=True)
    try:
        x, t_x, age = np.broadcast_arrays(x, t_x, age)
    except ValueError as exc:
        raise InvalidInput("recency", f"cannot broadcast with frequency and T ({exc})") from None
    if np.any(t_x > age * (1 + 1e-9) + 1e-9):
        raise InvalidInput("recency", "values exceed T")
    return x, np.minimum(t_x, age), age


def _subsample(data: CompressedRFM, customers: int) -> CompressedRFM:
    """A fixed-seed random sample of customers (not of rows), as weighted distinct rows."""
    rng = np.random.default_rng(0)
    counts = rng.multinomial(customers, data.weights / data.weights.sum())
    keep = counts > 0
    return CompressedRFM(
        frequency=data.frequency[keep],
        recency=data.recency[keep],
        T=data.T[keep],
        weights=counts[keep].astype(np.float64),
        inverse=np.empty(0, dtype=np.intp),
        n_customers=float(customers),
    )


class TransactionModel(ABC, Generic[P]):
    """A repeat-purchase model fitted by maximum likelihood on (frequency, recency, T)."""

    params_: P
    log_likelihood_: float
    converged_: bool
    fit_message_: str
    n_customers_: float
    n_rows_: int

    def __init__(self, penalizer: float = 0.0, max_iter: int = 2000) -> None:
        if penalizer < 0:
            raise ValueError("penalizer must be >= 0")
        self.penalizer = penalizer
        self.max_iter = max_iter

    def fit(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        weights: Any = None,
        *,
        initial_params: P | None = None,
    ) -> Self:
        """Fit by maximum likelihood; identical (frequency, recency, T) rows are evaluated once."""
        data = compress(validate_rfm(frequency, recency, T, weights))
        hessian = None
        if initial_params is not None:
            start = np.log(initial_params.values())
        elif data.weights.size > WARM_START_ROWS:
            sample = self._penalized(self._objective(_subsample(data, WARM_START_CUSTOMERS)))
            warm = minimize_nll(sample, self._start(data), max_iter=self.max_iter)
            start = warm.log_params
            hessian = numerical_hessian(sample, start) if warm.converged else None
        else:
            start = self._start(data)
        objective = self._penalized(self._objective(data))
        optimum = minimize_nll(objective, start, max_iter=self.max_iter, hessian=hessian)
        values = np.exp(optimum.log_params)
        self.params_ = self._make_params(values)
        penalty = self.penalizer * float(np.sum(values**2))
        self.log_likelihood_ = -(optimum.mean_nll - penalty) * data.n_customers
        self.converged_ = optimum.converged
        self.fit_message_ = optimum.message
        self.n_customers_ = data.n_customers
        self.n_rows_ = int(data.weights.size)
        logger.info(
            "%s fitted on %d customers (%d distinct rows, %d evaluations): %s, LL %.2f",
            type(self).__name__,
            data.n_customers,
            self.n_rows_,
            optimum.n_evaluations,
            self.params_,
            self.log_likelihood_,
        )
        return self

    def _penalized(self, objective: Objective) -> Objective:
        """Add lifetimes' L2 penalizer (penalizer × Σ params²) to the mean NLL."""
        if self.penalizer == 0:
            return objective
        pen = self.penalizer

        def wrapped(theta: FloatArray) -> tuple[float, FloatArray]:
            value, grad = objective(theta)
            squares = np.exp(2 * theta)
            return value + pen * float(squares.sum()), grad + 2 * pen * squares

        return wrapped

    def _fitted(self) -> P:
        """The fitted parameters, or a clear error before fit()."""
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")
        return params

    @abstractmethod
    def _objective(self, data: CompressedRFM) -> Objective:
        """Mean negative log-likelihood and its gradient with respect to the log-parameters."""

    @abstractmethod
    def _start(self, data: CompressedRFM) -> FloatArray:
        """Starting log-parameters from simple moments of the data."""

    @abstractmethod
    def _make_params(self, values: FloatArray) -> P:
        """The parameter dataclass from positive values in the papers' order."""

    @abstractmethod
    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Per-customer log-likelihood of the observed history under the fitted parameters."""

    @abstractmethod
    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """P(alive at T | frequency, recency, T)."""

    @abstractmethod
    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """E[purchases in (T, T + t] | frequency, recency, T]."""

    @abstractmethod
    def expected_purchases_new_customer(self, t: Any) -> FloatArray:
        """E[repeat purchases in (0, t]] for a new, randomly chosen customer."""

    @abstractmethod
    def probability_of_n_purchases_up_to_time(self, t: Any, n: Any) -> FloatArray:
        """P(X(t) = n): a new customer makes exactly n repeat purchases in (0, t]."""
