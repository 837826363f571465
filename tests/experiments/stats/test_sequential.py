"""The always-valid t-test: more cautious than the fixed-horizon one, safe to peek at daily."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from tenure.experiments.stats.frequentist import sequential_ttest, ttest
from tenure.experiments.stats.summaries import Proportion, SampleMean


def sample_mean(values: np.ndarray) -> SampleMean:
    return SampleMean(values.size, float(values.sum()), float((values * values).sum()))


def random_pairs(seed: int, count: int) -> list[tuple[SampleMean, SampleMean]]:
    """Experiments of a few hundred to tens of thousands of units, with and without effects."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(count):
        n = int(rng.integers(200, 20_000))
        lift = rng.choice([0.0, 0.01, 0.05, 0.2])
        a, b = rng.gamma(2.0, 20.0, n), rng.gamma(2.0, 20.0 * (1 + lift), n)
        pairs.append((sample_mean(a), sample_mean(b)))
    return pairs


class TestMoreCautiousThanFixedHorizon:
    def test_the_sequential_p_value_is_never_below_the_fixed_horizon_one(self) -> None:
        for a, b in random_pairs(31, 300):
            for relative in (True, False):
                fixed = ttest(a, b, relative=relative).p_value
                assert sequential_ttest(a, b, relative=relative).p_value >= fixed

    def test_the_sequential_interval_contains_the_fixed_horizon_one(self) -> None:
        for a, b in random_pairs(32, 300):
            fixed, sequential = ttest(a, b), sequential_ttest(a, b)
            assert sequential.ci_low <= fixed.ci_low and fixed.ci_high <= sequential.ci_high
            assert sequential.estimate == fixed.estimate


class TestTuning:
    def test_the_interval_is_narrowest_when_tuned_for_the_sample_size(self) -> None:
        a, b = Proportion(2_500, 250), Proportion(2_500, 280)  # 5,000 units in all

        def width(tuning: float) -> float:
            result = sequential_ttest(a, b, tuning=tuning)
            return result.ci_high - result.ci_low

        assert width(5_000) < min(width(500), width(50_000))


class TestPeeking:
    def test_looking_every_day_keeps_false_positives_below_alpha(self) -> None:
        # 400 A/A experiments, 20 daily looks of 200 more units per arm each. The fixed-horizon
        # test stops wrongly far more often than 5% when read daily; the sequential one doesn't.
        rng = np.random.default_rng(33)
        a, b = rng.normal(30, 12, size=(2, 400, 20 * 200))
        looks = range(200, 20 * 200 + 1, 200)
        fixed_wrong = sequential_wrong = 0
        for x, y in zip(a, b, strict=True):
            sums_x, sums_y = np.cumsum(x), np.cumsum(y)
            squares_x, squares_y = np.cumsum(x * x), np.cumsum(y * y)
            daily = [
                (
                    SampleMean(n, float(sums_x[n - 1]), float(squares_x[n - 1])),
                    SampleMean(n, float(sums_y[n - 1]), float(squares_y[n - 1])),
                )
                for n in looks
            ]
            fixed_wrong += any(ttest(*day).p_value < 0.05 for day in daily)
            sequential_wrong += any(sequential_ttest(*day).p_value < 0.05 for day in daily)
        assert sequential_wrong / 400 <= 0.05
        assert fixed_wrong / 400 > 0.1


class TestExtremes:
    def test_a_huge_effect_gives_a_p_value_of_zero_without_overflow(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = sequential_ttest(Proportion(400_000, 20_000), Proportion(400_000, 36_000))
        assert result.p_value == 0
        assert math.isfinite(result.ci_low) and math.isfinite(result.ci_high)

    def test_no_difference_gives_a_p_value_of_one(self) -> None:
        assert sequential_ttest(Proportion(5_000, 500), Proportion(5_000, 500)).p_value == 1

    def test_zero_variance_gives_a_reason_rather_than_an_error(self) -> None:
        result = sequential_ttest(Proportion(100, 0), Proportion(100, 5), relative=False)
        assert result.reason is not None
        assert result.p_value == pytest.approx(1)
