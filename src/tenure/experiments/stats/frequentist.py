"""Frequentist comparison of a variant (b) with the control (a): Welch's t-test on the relative
(or absolute) difference, with the delta method's variance for the relative one, and an
always-valid sequential version.

Formulas as in gbstats 0.8 (`gbstats.frequentist.tests`), which the parity test checks:
- relative lift (b − a) / a, variance Var_b / (a² n_b) + Var_a b² / (a⁴ n_a);
- Welch–Satterthwaite degrees of freedom;
- sequential: the asymptotic confidence sequence of Waudby-Smith et al. (2023, arXiv:2103.06476,
  eq. 9 for the interval, eq. 155 for the p-value, eq. 161 for ρ), tuned for about
  `tuning` units, valid at every look, so peeking does not raise the error rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tenure.experiments.stats.summaries import Statistic, with_theta

BASELINE_ZERO = "baseline_zero"  # the control's mean is 0: no relative lift
ZERO_VARIANCE = "zero_variance"
NO_UNITS = "no_units"


@dataclass(frozen=True)
class Comparison:
    """A variant against the control; `reason` says why the figures are empty."""

    estimate: float
    ci_low: float
    ci_high: float
    stddev: float  # of the estimate
    p_value: float
    reason: str | None = None


def _empty(reason: str) -> Comparison:
    return Comparison(estimate=0.0, ci_low=0.0, ci_high=0.0, stddev=0.0, p_value=1.0, reason=reason)


def difference(a: Statistic, b: Statistic, relative: bool) -> float:
    """b − a, divided by a's unadjusted mean when relative (CUPED changes the numerator only)."""
    if not relative:
        return b.mean - a.mean
    base = a.unadjusted_mean or a.mean
    return (b.mean - a.mean) / base


def difference_variance(a: Statistic, b: Statistic, relative: bool) -> float:
    """The variance of `difference`: Welch's, and the delta method's when relative."""
    if not relative:
        return b.variance / b.n + a.variance / a.n
    ma, mb = a.unadjusted_mean, b.unadjusted_mean
    return b.variance / (ma**2 * b.n) + a.variance * mb**2 / (ma**4 * a.n)


def welch_dof(a: Statistic, b: Statistic) -> float:
    """Welch–Satterthwaite degrees of freedom."""
    va, vb = a.variance, b.variance
    top = (vb / b.n + va / a.n) ** 2
    return top / (vb**2 / (b.n**2 * (b.n - 1)) + va**2 / (a.n**2 * (a.n - 1)))


def _unusable(a: Statistic, b: Statistic, relative: bool) -> str | None:
    if a.n == 0 or b.n == 0:
        return NO_UNITS
    if relative and (a.mean == 0 or a.unadjusted_mean == 0):
        return BASELINE_ZERO
    if a.variance <= 0 or b.variance <= 0:
        return ZERO_VARIANCE
    return None


def ttest(a: Statistic, b: Statistic, *, alpha: float = 0.05, relative: bool = True) -> Comparison:
    """Two-sided Welch t-test of b against a, with a 1 − alpha interval."""
    from scipy import stats  # imported late: scipy.stats costs each server worker half a second

    a, b = with_theta(a, b)
    reason = _unusable(a, b, relative)
    if reason is not None:
        return _empty(reason)
    estimate = difference(a, b, relative)
    sd = math.sqrt(difference_variance(a, b, relative))
    dof = welch_dof(a, b)
    half = float(stats.t.ppf(1 - alpha / 2, dof)) * sd
    p = 2 * (1 - float(stats.t.cdf(abs(estimate / sd), dof)))
    return Comparison(estimate, estimate - half, estimate + half, sd, p)


def sequential_rho(alpha: float, tuning: float) -> float:
    """ρ of the confidence sequence, tuned so the interval is tightest near `tuning` units."""
    return math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)


def sequential_ttest(
    a: Statistic,
    b: Statistic,
    *,
    alpha: float = 0.05,
    relative: bool = True,
    tuning: float = 5000,
) -> Comparison:
    """The always-valid version of `ttest`: the interval and p-value hold at any stopping time."""
    a, b = with_theta(a, b)
    reason = _unusable(a, b, relative)
    if reason is not None:
        return _empty(reason)
    estimate = difference(a, b, relative)
    variance = difference_variance(a, b, relative)
    n = a.n + b.n
    rho = sequential_rho(alpha, tuning)
    nr2 = n * rho**2 + 1
    half = math.sqrt(variance * n) * math.sqrt(
        2 * nr2 * math.log(math.sqrt(nr2) / alpha) / (n * rho) ** 2
    )
    st2 = estimate**2 * n / variance
    # log of the e-value, so a large effect cannot overflow exp()
    log_evalue = rho**2 * st2 / (2 * nr2) - 0.5 * math.log(nr2)
    p = 1.0 if log_evalue <= 0 else math.exp(-log_evalue)
    return Comparison(estimate, estimate - half, estimate + half, math.sqrt(variance), p)
