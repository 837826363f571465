"""The fixed-horizon t-test: Welch's, refusing with a reason, rejecting A/A tests at alpha."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tenure.experiments.stats.frequentist import (
    BASELINE_ZERO,
    NO_UNITS,
    ZERO_VARIANCE,
    ttest,
)
from tenure.experiments.stats.summaries import Proportion, SampleMean


def sample_mean(values: np.ndarray) -> SampleMean:
    return SampleMean(values.size, float(values.sum()), float((values * values).sum()))


class TestWelch:
    def test_absolute_difference_matches_scipys_welch_test(self) -> None:
        rng = np.random.default_rng(21)
        a, b = rng.normal(50, 20, 300), rng.normal(54, 30, 250)
        ours = ttest(sample_mean(a), sample_mean(b), alpha=0.1, relative=False)
        scipys = stats.ttest_ind(b, a, equal_var=False)
        low, high = scipys.confidence_interval(0.9)
        assert ours.estimate == pytest.approx(b.mean() - a.mean())
        assert ours.p_value == pytest.approx(scipys.pvalue)
        assert (ours.ci_low, ours.ci_high) == (pytest.approx(low), pytest.approx(high))

    def test_relative_lift_is_the_difference_over_the_control_mean(self) -> None:
        result = ttest(Proportion(1_000, 100), Proportion(1_000, 120))
        assert result.estimate == pytest.approx(0.2)
        assert result.ci_low < 0.2 < result.ci_high

    def test_interval_narrows_with_more_units(self) -> None:
        small = ttest(Proportion(1_000, 100), Proportion(1_000, 120))
        large = ttest(Proportion(100_000, 10_000), Proportion(100_000, 12_000))
        assert large.ci_high - large.ci_low < (small.ci_high - small.ci_low) / 5


class TestRefusals:
    def test_zero_variance_gives_a_reason_rather_than_an_error(self) -> None:
        result = ttest(SampleMean(50, 100, 200), SampleMean(50, 120, 400))
        assert result.reason == ZERO_VARIANCE
        assert (result.estimate, result.p_value) == (0, 1)

    def test_a_variant_without_units_gives_a_reason(self) -> None:
        assert ttest(Proportion(100, 10), Proportion(0, 0)).reason == NO_UNITS

    def test_a_control_mean_of_zero_refuses_a_relative_lift(self) -> None:
        assert ttest(SampleMean(4, 0, 8), SampleMean(4, 4, 10)).reason == BASELINE_ZERO

    def test_a_control_mean_of_zero_still_gives_an_absolute_difference(self) -> None:
        # gbstats refuses this too; nothing divides by the control's mean, so we don't.
        result = ttest(SampleMean(4, 0, 8), SampleMean(4, 4, 10), relative=False)
        assert result.reason is None
        assert result.estimate == 1


class TestErrorRates:
    def test_aa_tests_reject_about_alpha_of_the_time(self) -> None:
        rng = np.random.default_rng(22)
        conversions = rng.binomial(2_000, 0.1, size=(2_000, 2))
        rejected = np.mean(
            [
                ttest(Proportion(2_000, int(a)), Proportion(2_000, int(b))).p_value < 0.05
                for a, b in conversions
            ]
        )
        assert rejected == pytest.approx(0.05, abs=0.015)  # 3 standard errors of 2,000 draws

    def test_the_interval_covers_the_true_lift_one_minus_alpha_of_the_time(self) -> None:
        rng = np.random.default_rng(23)
        a = rng.normal(40, 15, size=(1_500, 400))
        b = rng.normal(44, 15, size=(1_500, 400))  # a true relative lift of 10%
        covered = np.mean(
            [
                (r := ttest(sample_mean(x), sample_mean(y), alpha=0.1)).ci_low < 0.1 < r.ci_high
                for x, y in zip(a, b, strict=True)
            ]
        )
        assert covered == pytest.approx(0.9, abs=0.025)
