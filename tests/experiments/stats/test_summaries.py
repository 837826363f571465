"""Sufficient statistics: each equals the same figure computed from the raw values."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from tenure.experiments.stats.summaries import (
    Adjusted,
    Proportion,
    Ratio,
    SampleMean,
    stddev,
    theta,
    with_theta,
)


def sample_mean(values: np.ndarray) -> SampleMean:
    return SampleMean(values.size, float(values.sum()), float((values * values).sum()))


def adjusted(post: np.ndarray, pre: np.ndarray) -> Adjusted:
    return Adjusted(post.size, sample_mean(post), sample_mean(pre), float((post * pre).sum()))


def correlated(rng: np.random.Generator, n: int, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """(post, pre) spend whose correlation grows with `strength`."""
    pre = rng.gamma(2.0, 20.0, n)
    return strength * pre + (1 - strength) * rng.gamma(2.0, 20.0, n), pre


class TestSampleMean:
    def test_mean_and_variance_are_those_of_the_values(self) -> None:
        values = np.random.default_rng(1).lognormal(3.0, 1.0, 500)
        statistic = sample_mean(values)
        assert statistic.mean == pytest.approx(values.mean())
        assert statistic.variance == pytest.approx(values.var(ddof=1))
        assert stddev(statistic) == pytest.approx(values.std(ddof=1))

    def test_one_unit_has_no_variance(self) -> None:
        assert SampleMean(1, 12.5, 156.25).variance == 0

    def test_no_units_have_a_mean_and_variance_of_zero(self) -> None:
        assert (SampleMean(0, 0, 0).mean, SampleMean(0, 0, 0).variance) == (0, 0)


class TestProportion:
    def test_variance_is_the_rate_times_its_complement(self) -> None:
        assert Proportion(200, 30).variance == pytest.approx(0.15 * 0.85)

    def test_no_units_convert_at_a_rate_of_zero(self) -> None:
        assert Proportion(0, 0).mean == 0


class TestRatio:
    def setup_method(self) -> None:
        rng = np.random.default_rng(2)
        self.orders = rng.poisson(1.5, 2_000).astype(float) + 1
        self.revenue = self.orders * rng.lognormal(3.0, 0.5, 2_000)
        self.ratio = Ratio(
            2_000,
            sample_mean(self.revenue),
            sample_mean(self.orders),
            float((self.revenue * self.orders).sum()),
        )

    def test_mean_is_total_numerator_over_total_denominator(self) -> None:
        assert self.ratio.mean == pytest.approx(self.revenue.sum() / self.orders.sum())

    def test_delta_method_variance_is_the_variance_of_the_linearised_values(self) -> None:
        # Deng et al. (2018): Var(m̄/d̄) ≈ Var(m − r·d) / (n d̄²), with r the ratio.
        linearised = self.revenue - self.ratio.mean * self.orders
        expected = linearised.var(ddof=1) / self.orders.mean() ** 2
        assert self.ratio.variance == pytest.approx(expected)

    def test_no_denominator_gives_a_mean_and_variance_of_zero(self) -> None:
        empty = Ratio(30, SampleMean(30, 0, 0), SampleMean(30, 0, 0), 0)
        assert (empty.mean, empty.variance) == (0, 0)


class TestCuped:
    def test_theta_is_the_pooled_regression_slope_of_post_on_pre(self) -> None:
        rng = np.random.default_rng(3)
        post_a, pre_a = correlated(rng, 800, 0.7)
        post_b, pre_b = correlated(rng, 900, 0.7)
        slope = np.polyfit(np.concatenate([pre_a, pre_b]), np.concatenate([post_a, post_b]), 1)[0]
        assert theta(adjusted(post_a, pre_a), adjusted(post_b, pre_b)) == pytest.approx(slope)

    def test_variance_is_smaller_when_pre_and_post_correlate(self) -> None:
        rng = np.random.default_rng(4)
        a, b = adjusted(*correlated(rng, 1_000, 0.8)), adjusted(*correlated(rng, 1_000, 0.8))
        a_adjusted, _ = with_theta(a, b)
        assert a_adjusted.variance < 0.2 * a.post.variance

    def test_variance_shrinks_by_the_squared_correlation(self) -> None:
        post, pre = correlated(np.random.default_rng(5), 3_000, 0.5)
        halves = adjusted(post[:1_500], pre[:1_500]), adjusted(post[1_500:], pre[1_500:])
        pooled = replace(adjusted(post, pre), theta=theta(*halves))
        r = np.corrcoef(post, pre)[0, 1]
        assert pooled.variance == pytest.approx(post.var(ddof=1) * (1 - r**2))

    def test_unrelated_pre_values_barely_change_the_variance(self) -> None:
        rng = np.random.default_rng(6)
        a, b = adjusted(*correlated(rng, 2_000, 0.0)), adjusted(*correlated(rng, 2_000, 0.0))
        a_adjusted, _ = with_theta(a, b)
        assert a_adjusted.variance == pytest.approx(a.post.variance, rel=0.01)

    def test_pre_values_without_variance_fall_back_to_the_post_metric(self) -> None:
        rng = np.random.default_rng(7)
        new_users = np.zeros(100)
        a = adjusted(rng.gamma(2.0, 20.0, 100), new_users)
        b = adjusted(rng.gamma(2.0, 20.0, 100), new_users)
        assert with_theta(a, b) == (a.post, b.post)

    def test_theta_makes_new_values_and_leaves_the_inputs_alone(self) -> None:
        rng = np.random.default_rng(8)
        a, b = adjusted(*correlated(rng, 100, 0.5)), adjusted(*correlated(rng, 100, 0.5))
        a_adjusted, _ = with_theta(a, b)
        assert a.theta == 0 and a_adjusted.theta != 0
        with pytest.raises(FrozenInstanceError):
            a.theta = 1.0  # type: ignore[misc]

    def test_mixing_proportions_and_means_across_variants_is_refused(self) -> None:
        a = Adjusted(10, Proportion(10, 3), Proportion(10, 2), 1)
        b = Adjusted(10, SampleMean(10, 3, 5), Proportion(10, 2), 1)
        with pytest.raises(TypeError, match="one kind"):
            theta(a, b)

    def test_pairs_that_are_not_cuped_pass_through(self) -> None:
        a, b = Proportion(100, 10), Proportion(100, 12)
        assert with_theta(a, b) == (a, b)
