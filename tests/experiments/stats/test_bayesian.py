"""The Bayesian comparison: the data's estimate under a flat prior, shrunk by a proper one."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from tenure.experiments.stats.bayesian import Prior, bayesian_test, risks
from tenure.experiments.stats.frequentist import NO_UNITS, ttest
from tenure.experiments.stats.summaries import Proportion

CONTROL, VARIANT = Proportion(4_000, 400), Proportion(4_000, 440)


class TestPosterior:
    def test_a_flat_prior_gives_the_frequentist_estimate_and_stddev(self) -> None:
        posterior, frequentist = bayesian_test(CONTROL, VARIANT), ttest(CONTROL, VARIANT)
        assert posterior.estimate == pytest.approx(frequentist.estimate)
        assert posterior.stddev == pytest.approx(frequentist.stddev)

    def test_a_proper_prior_shrinks_the_estimate_toward_its_mean(self) -> None:
        flat = bayesian_test(CONTROL, VARIANT)
        sceptical = bayesian_test(CONTROL, VARIANT, prior=Prior(0.0, 0.05**2, proper=True))
        assert 0 < sceptical.estimate < flat.estimate
        assert sceptical.stddev < flat.stddev

    def test_the_credible_interval_holds_one_minus_alpha_of_the_posterior(self) -> None:
        posterior = bayesian_test(CONTROL, VARIANT, alpha=0.1)
        mass = norm.cdf(posterior.ci_high, posterior.estimate, posterior.stddev) - norm.cdf(
            posterior.ci_low, posterior.estimate, posterior.stddev
        )
        assert mass == pytest.approx(0.9)

    def test_without_an_effect_the_chance_to_win_is_one_half(self) -> None:
        assert bayesian_test(CONTROL, CONTROL).chance_to_win == pytest.approx(0.5)


class TestRisk:
    def test_risks_are_the_expected_positive_and_negative_parts_of_the_lift(self) -> None:
        # E[max(X, 0)] = μΦ(μ/σ) + σφ(μ/σ) for X ~ N(μ, σ²); E[max(−X, 0)] mirrors it.
        for mu, sigma in ((0.03, 0.02), (-0.01, 0.05), (0.0, 1.0), (2.0, 0.1)):
            positive = mu * norm.cdf(mu / sigma) + sigma * norm.pdf(mu / sigma)
            negative = -mu * norm.cdf(-mu / sigma) + sigma * norm.pdf(mu / sigma)
            assert risks(mu, sigma) == (pytest.approx(positive), pytest.approx(negative))

    def test_the_risks_differ_by_the_expected_lift(self) -> None:
        posterior = bayesian_test(CONTROL, VARIANT)
        difference = posterior.risk_control - posterior.risk_variant
        assert difference == pytest.approx(posterior.estimate)

    def test_an_inverse_metric_swaps_the_chance_to_win_and_the_risks(self) -> None:
        higher, lower = (
            bayesian_test(CONTROL, VARIANT),
            bayesian_test(CONTROL, VARIANT, inverse=True),
        )
        assert lower.chance_to_win == pytest.approx(1 - higher.chance_to_win)
        assert (lower.risk_control, lower.risk_variant) == (
            higher.risk_variant,
            higher.risk_control,
        )
        assert lower.estimate == higher.estimate


class TestRefusals:
    def test_a_variant_without_units_gives_a_reason_and_a_neutral_posterior(self) -> None:
        posterior = bayesian_test(CONTROL, Proportion(0, 0))
        assert posterior.reason == NO_UNITS
        assert (posterior.chance_to_win, posterior.risk_control) == (0.5, 0)
        assert math.isfinite(posterior.estimate)
