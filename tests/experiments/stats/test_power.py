"""Power and sample size: the units `units_needed` asks for do reach the target power."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.experiments.stats.frequentist import ttest
from tenure.experiments.stats.power import Baseline, power, units_needed
from tenure.experiments.stats.summaries import Proportion, SampleMean

BASKET = Baseline(mean=50.0, variance=20.0**2)  # order value: €50 ± €20
CONVERSION = Baseline(mean=0.1, variance=0.1 * 0.9, proportion=True)


class TestPower:
    def test_at_no_lift_the_power_is_alpha(self) -> None:
        assert power(BASKET, 0.0, 1_000, alpha=0.05) == pytest.approx(0.05, abs=0.001)

    def test_power_grows_with_the_units(self) -> None:
        powers = [power(CONVERSION, 0.1, n) for n in (1_000, 5_000, 20_000, 100_000)]
        assert powers == sorted(powers)
        assert powers[-1] > 0.99

    def test_fewer_than_two_units_have_no_power(self) -> None:
        assert power(BASKET, 0.5, 1) == 0


class TestUnitsNeeded:
    def test_it_is_the_fewest_units_that_reach_the_target(self) -> None:
        for baseline, lift in ((BASKET, 0.05), (CONVERSION, 0.2), (CONVERSION, -0.1)):
            n = units_needed(baseline, lift, target=0.8)
            assert power(baseline, lift, n) >= 0.8 > power(baseline, lift, n - 1)

    def test_a_larger_lift_needs_fewer_units(self) -> None:
        assert units_needed(CONVERSION, 0.3) < units_needed(CONVERSION, 0.1)

    def test_a_stricter_alpha_needs_more_units(self) -> None:
        assert units_needed(BASKET, 0.05, alpha=0.01) > units_needed(BASKET, 0.05, alpha=0.05)

    def test_a_lift_of_zero_is_refused(self) -> None:
        with pytest.raises(ValueError, match="must not be 0"):
            units_needed(BASKET, 0.0)

    def test_a_lift_too_small_to_ever_see_is_refused(self) -> None:
        with pytest.raises(ValueError, match="too small"):
            units_needed(CONVERSION, 1e-7)


class TestSimulatedExperiments:
    """2,000 simulated experiments at `units_needed` per variant, each through our `ttest`: the
    share that detects the lift is the target power, ±3 points (the simulation's standard error
    is under one point)."""

    def test_normal_order_values_reach_the_target_power(self) -> None:
        lift = 0.05
        n = units_needed(BASKET, lift, target=0.8)
        rng = np.random.default_rng(51)
        control = rng.normal(50.0, 20.0, size=(2_000, n))
        variant = rng.normal(50.0 * (1 + lift), 20.0, size=(2_000, n))
        detected = np.mean(
            [
                ttest(
                    SampleMean(n, float(a.sum()), float((a * a).sum())),
                    SampleMean(n, float(b.sum()), float((b * b).sum())),
                ).p_value
                < 0.05
                for a, b in zip(control, variant, strict=True)
            ]
        )
        assert detected == pytest.approx(0.8, abs=0.03)

    # The plain normal approximation, T ~ N(δ/√V, 1), missed these: 86% power at +30%, 76% at
    # −20%, for a target of 80%.
    @pytest.mark.parametrize(("lift", "target"), [(0.3, 0.8), (-0.2, 0.8), (0.1, 0.9)])
    def test_conversions_reach_the_target_power(self, lift: float, target: float) -> None:
        n = units_needed(CONVERSION, lift, target=target)
        rng = np.random.default_rng(52)
        # The number of 1s among n Bernoulli draws, per experiment and variant.
        control = rng.binomial(n, 0.1, 2_000)
        variant = rng.binomial(n, 0.1 * (1 + lift), 2_000)
        detected = np.mean(
            [
                ttest(Proportion(n, int(a)), Proportion(n, int(b))).p_value < 0.05
                for a, b in zip(control, variant, strict=True)
            ]
        )
        assert detected == pytest.approx(target, abs=0.03)

    def test_a_small_experiment_has_the_low_power_the_relative_test_really_has(self) -> None:
        # With 100 units per variant the relative lift's studentisation swamps a +50% lift in
        # conversion: the test almost never fires, and `power` says so.
        rng = np.random.default_rng(53)
        control, variant = rng.binomial(100, 0.1, 4_000), rng.binomial(100, 0.15, 4_000)
        detected = np.mean(
            [
                ttest(Proportion(100, int(a)), Proportion(100, int(b))).p_value < 0.05
                for a, b in zip(control, variant, strict=True)
            ]
        )
        assert detected == pytest.approx(power(CONVERSION, 0.5, 100), abs=0.01)
