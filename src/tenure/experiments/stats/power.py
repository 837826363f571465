"""Power and sample size for a relative lift, for the two-sided Welch test in `frequentist`.

With a control mean μ and unit variance σ², a variant at μ(1 + δ) and n units in each, the
relative lift's variance is the delta method's (`frequentist.difference_variance`):

    V(n) = [σ_b² / μ² + σ² (1 + δ)² / μ²] / n

(σ_b² = σ² for a mean; p_b(1 − p_b) for a proportion), and the power is the normal
approximation P(|Z + δ/√V| > z₁₋α/₂). The sample size is the smallest n whose power reaches
the target, found from the closed form n ≈ c (z₁₋α/₂ + z₁₋β)² / δ² and checked exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Baseline:
    """The control's mean and unit variance; `proportion` when the metric is 0/1."""

    mean: float
    variance: float
    proportion: bool = False

    def variant_variance(self, lift: float) -> float:
        if self.proportion:
            p = self.mean * (1 + lift)
            return p * (1 - p)
        return self.variance


def _unit_variance(baseline: Baseline, lift: float) -> float:
    """n × V(n): the relative lift's variance for one unit per variant."""
    mu = baseline.mean
    return (baseline.variant_variance(lift) + baseline.variance * (1 + lift) ** 2) / mu**2


def power(baseline: Baseline, lift: float, units_per_variant: int, alpha: float = 0.05) -> float:
    """The chance that a two-sided test at `alpha` detects a true relative `lift`."""
    from scipy.stats import norm

    if units_per_variant < 2:
        return 0.0
    se = math.sqrt(_unit_variance(baseline, lift) / units_per_variant)
    z = float(norm.ppf(1 - alpha / 2))
    shift = abs(lift) / se
    return float(norm.sf(z - shift) + norm.cdf(-z - shift))


def units_needed(
    baseline: Baseline, lift: float, target: float = 0.8, alpha: float = 0.05
) -> int:
    """The fewest units per variant for which `power` reaches `target`."""
    from scipy.stats import norm

    if lift == 0:
        raise ValueError("the minimum detectable effect must not be 0")
    z = float(norm.ppf(1 - alpha / 2)) + float(norm.ppf(target))
    n = max(2, math.ceil(_unit_variance(baseline, lift) * z**2 / lift**2))
    # The closed form ignores the far tail, so it can only overshoot; step back while it holds.
    while n > 2 and power(baseline, lift, n - 1, alpha) >= target:
        n -= 1
    while power(baseline, lift, n, alpha) < target:
        n += 1
    return n
