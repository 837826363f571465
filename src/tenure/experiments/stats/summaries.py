"""Sufficient statistics of one variant's metric: what the warehouse returns per variant.

The formulas are GrowthBook's (`gbstats.models.statistics`, version 0.8), so a result computed
here equals gbstats' for the same sums (`tests/experiments/test_gbstats_parity.py` checks it):

- `Proportion`: a 0/1 metric; variance p(1 − p).
- `SampleMean`: any per-unit value; the unbiased sample variance from n, Σx and Σx².
- `Ratio`: Σ numerator / Σ denominator (average order value = revenue / orders), whose variance
  is the delta method's (Deng et al., 2018, "Applying the Delta Method in Metric Analytics").
- `Adjusted`: CUPED (Deng et al., 2013): the metric minus θ × its pre-exposure value, θ pooled
  over both variants (`with_theta`).

Every class is frozen: θ makes a new value rather than changing one in place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Proportion:
    """A binary metric: n units, `sum` of them converted."""

    n: int
    sum: float

    @property
    def sum_squares(self) -> float:
        return self.sum

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        return self.mean * (1 - self.mean)

    @property
    def unadjusted_mean(self) -> float:
        return self.mean


@dataclass(frozen=True)
class SampleMean:
    """A per-unit value: n units, Σx and Σx²."""

    n: int
    sum: float
    sum_squares: float

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        if self.n <= 1:
            return 0.0
        return (self.sum_squares - self.sum**2 / self.n) / (self.n - 1)

    @property
    def unadjusted_mean(self) -> float:
        return self.mean


Moments = Proportion | SampleMean


def _covariance(n: int, x: Moments, y: Moments, sum_of_products: float) -> float:
    if n <= 1:
        return 0.0
    return (sum_of_products - x.sum * y.sum / n) / (n - 1)


@dataclass(frozen=True)
class Ratio:
    """Σ numerator / Σ denominator over n units, with Σ numerator × denominator."""

    n: int
    numerator: Moments
    denominator: Moments
    sum_of_products: float

    @property
    def mean(self) -> float:
        return self.numerator.sum / self.denominator.sum if self.denominator.sum else 0.0

    @property
    def covariance(self) -> float:
        return _covariance(self.n, self.numerator, self.denominator, self.sum_of_products)

    @property
    def variance(self) -> float:
        m, d = self.numerator.mean, self.denominator.mean
        if d == 0 or self.n <= 1:
            return 0.0
        return (
            self.numerator.variance / d**2
            - 2 * self.covariance * m / d**3
            + m**2 * self.denominator.variance / d**4
        )

    @property
    def unadjusted_mean(self) -> float:
        return self.mean


@dataclass(frozen=True)
class Adjusted:
    """CUPED: the metric after exposure (`post`) adjusted by its value before (`pre`)."""

    n: int
    post: Moments
    pre: Moments
    sum_of_products: float  # Σ post × pre
    theta: float = 0.0

    @property
    def mean(self) -> float:
        return self.post.mean - self.theta * self.pre.mean

    @property
    def unadjusted_mean(self) -> float:
        return self.post.mean

    @property
    def covariance(self) -> float:
        return _covariance(self.n, self.post, self.pre, self.sum_of_products)

    @property
    def variance(self) -> float:
        if self.n <= 1:
            return 0.0
        return (
            self.post.variance
            + self.theta**2 * self.pre.variance
            - 2 * self.theta * self.covariance
        )


Statistic = Proportion | SampleMean | Ratio | Adjusted


def stddev(statistic: Statistic) -> float:
    """The unit-level standard deviation (0 when the variance is not positive)."""
    variance = statistic.variance
    return math.sqrt(variance) if variance > 0 else 0.0


def _joined(a: Moments, b: Moments, n: int) -> Moments:
    if isinstance(a, Proportion) and isinstance(b, Proportion):
        return Proportion(n, a.sum + b.sum)
    if isinstance(a, SampleMean) and isinstance(b, SampleMean):
        return SampleMean(n, a.sum + b.sum, a.sum_squares + b.sum_squares)
    raise TypeError("a metric's statistics must be of one kind in every variant")


def theta(a: Adjusted, b: Adjusted) -> float:
    """CUPED's θ = Cov(post, pre) / Var(pre), pooled over both variants; 0 when either
    pooled variance is zero (then the adjustment is skipped)."""
    n = a.n + b.n
    post, pre = _joined(a.post, b.post, n), _joined(a.pre, b.pre, n)
    if pre.variance == 0 or post.variance == 0:
        return 0.0
    products = a.sum_of_products + b.sum_of_products
    return _covariance(n, post, pre, products) / pre.variance


def with_theta(a: Statistic, b: Statistic) -> tuple[Statistic, Statistic]:
    """The pair ready for a test: CUPED pairs get their pooled θ, or fall back to the plain
    post-exposure metric when θ is 0 (no variance to borrow from); other pairs pass through."""
    if isinstance(a, Adjusted) and isinstance(b, Adjusted):
        pooled = theta(a, b)
        if pooled == 0:
            return a.post, b.post
        return replace(a, theta=pooled), replace(b, theta=pooled)
    return a, b
