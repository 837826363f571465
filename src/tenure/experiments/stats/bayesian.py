"""Bayesian comparison: a Gaussian posterior of the lift, as gbstats 0.8's
`EffectBayesianABTest` computes it: the data's estimate and variance are the frequentist ones
(`frequentist.difference`), combined with a Gaussian prior on the effect when it is proper
(flat otherwise). From the posterior: the chance that the variant beats the control, the
expected loss (risk) of choosing either, and a credible interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tenure.experiments.stats.frequentist import (
    BASELINE_ZERO,
    NO_UNITS,
    ZERO_VARIANCE,
    difference,
    difference_variance,
)
from tenure.experiments.stats.summaries import Statistic, with_theta


@dataclass(frozen=True)
class Prior:
    """A Gaussian prior on the effect (relative lift when `relative`); flat unless `proper`."""

    mean: float = 0.0
    variance: float = 1.0
    proper: bool = False


@dataclass(frozen=True)
class Posterior:
    """The lift's posterior and what it means for a decision; `reason` says why it is empty."""

    estimate: float
    stddev: float
    ci_low: float
    ci_high: float
    chance_to_win: float
    risk_control: float  # expected loss of keeping the control if the variant is better
    risk_variant: float  # expected loss of shipping the variant if the control is better
    reason: str | None = None


def _empty(reason: str) -> Posterior:
    return Posterior(0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, reason)


def risks(mu: float, sigma: float) -> tuple[float, float]:
    """Expected losses from a N(mu, sigma) lift: (of keeping the control, of the variant)."""
    from scipy.stats import norm, truncnorm  # late: scipy.stats slows every worker's start

    worse = float(norm.cdf(0.0, loc=mu, scale=sigma))
    below = float(truncnorm.stats(-math.inf, (0.0 - mu) / sigma, loc=mu, scale=sigma, moments="m"))
    above = float(truncnorm.stats((0.0 - mu) / sigma, math.inf, loc=mu, scale=sigma, moments="m"))
    return (1.0 - worse) * above, -worse * below


def bayesian_test(
    a: Statistic,
    b: Statistic,
    *,
    alpha: float = 0.05,
    relative: bool = True,
    prior: Prior | None = None,
    inverse: bool = False,
) -> Posterior:
    """The posterior of b's lift over a. `inverse`: lower is better (refund rate)."""
    from scipy.stats import norm

    prior = prior or Prior()
    a, b = with_theta(a, b)
    if relative and (a.mean == 0 or a.unadjusted_mean == 0):
        return _empty(BASELINE_ZERO)
    if a.n == 0 or b.n == 0:
        return _empty(NO_UNITS)
    if a.variance <= 0 or b.variance <= 0:
        return _empty(ZERO_VARIANCE)
    data_variance = difference_variance(a, b, relative)
    data_mean = difference(a, b, relative)
    precision = 1 / data_variance + (1 / prior.variance if prior.proper else 0.0)
    if prior.proper:
        mu = (data_mean / data_variance + prior.mean / prior.variance) / precision
    else:
        mu = data_mean
    sigma = math.sqrt(1 / precision)
    beats = float(norm.sf(0, mu, sigma))
    low, high = (float(x) for x in norm.ppf([alpha / 2, 1 - alpha / 2], mu, sigma))
    risk_control, risk_variant = risks(mu, sigma)
    if inverse:
        beats, risk_control, risk_variant = 1 - beats, risk_variant, risk_control
    return Posterior(mu, sigma, low, high, beats, risk_control, risk_variant)
