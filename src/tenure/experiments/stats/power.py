"""Power and sample size for a relative lift, for the two-sided Welch test in `frequentist`.

With a control mean μ and unit variance σ², a variant at μ(1 + δ) with unit variance σ_b²
(σ² for a mean; p_b(1 − p_b) for a proportion) and n units in each, `ttest` rejects when

    |T| > t,  T = lift / √V̂ = (b̄ − ā) √n / √(s_b² + r̂² s_a²),  r̂ = b̄ / ā

(the delta method's variance, `frequentist.difference_variance`; t the Welch quantile). The
usual shortcut takes T ~ N(δ/√V, 1), but the denominator moves with ā and b̄ (through r̂, and
through s² = p̂(1 − p̂) for a proportion), so T's spread under the alternative is not 1: the
shortcut asks for 15% too many units at a +30% lift and leaves a −20% lift with 76% power
instead of 80%. Here the power is computed from the rejection region itself: given ā, the test
rejects where a quadratic in b̄ is positive, whose probability is a difference of normal CDFs of
b̄ ~ N(μ_b, σ_b²/n); that is averaged over ā ~ N(μ, σ²/n) by Gauss–Hermite quadrature. The
simulations in tests/experiments/stats/test_power.py land within a point of the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Gauss–Hermite nodes and weights for the average over the control's mean.
_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(64)


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


def _welch_dof(var_a: float, var_b: float, n: int) -> float:
    """Welch–Satterthwaite degrees of freedom for n units in each variant."""
    return (n - 1) * (var_a + var_b) ** 2 / (var_a**2 + var_b**2)


def power(baseline: Baseline, lift: float, units_per_variant: int, alpha: float = 0.05) -> float:
    """The chance that a two-sided test at `alpha` detects a true relative `lift`."""
    from scipy.stats import norm, t

    n = units_per_variant
    if n < 2:
        return 0.0
    mu_b = baseline.mean * (1 + lift)
    var_a, var_b = baseline.variance, baseline.variant_variance(lift)
    t2 = float(t.ppf(1 - alpha / 2, _welch_dof(var_a, var_b, n))) ** 2
    a = baseline.mean + math.sqrt(2 * var_a / n) * _NODES  # the control's mean at each node
    # n(b̄ − ā)² > t²(s_b² + (b̄/ā)² s_a²), rearranged as A b̄² + B b̄ + C > 0 for a given ā.
    with np.errstate(divide="ignore", invalid="ignore"):
        if baseline.proportion:  # s² = p̂(1 − p̂)
            qa = n + t2 - t2 * (1 - a) / a
            qb = -(2 * n * a + t2)
            qc = n * a**2
            usable = (a > 0) & (a < 1)  # else `ttest` refuses: no baseline or no variance
        else:
            qa = n - t2 * var_a / a**2
            qb = -2 * n * a
            qc = n * a**2 - t2 * var_b
            usable = a != 0
        disc = qb**2 - 4 * qa * qc
        half = np.sqrt(np.maximum(disc, 0.0)) / (2 * np.abs(qa))
        low, high = -qb / (2 * qa) - half, -qb / (2 * qa) + half
        sd_b = math.sqrt(var_b / n)
        inside = norm.cdf(high, mu_b, sd_b) - norm.cdf(low, mu_b, sd_b)
    # Upward parabola: rejects outside its roots (everywhere without roots); downward: inside.
    rejects = np.where(qa > 0, np.where(disc > 0, 1 - inside, 1.0), np.where(disc > 0, inside, 0.0))
    rejects = np.where(usable, rejects, 0.0)
    return float(np.dot(_WEIGHTS, rejects) / math.sqrt(math.pi))


def units_needed(baseline: Baseline, lift: float, target: float = 0.8, alpha: float = 0.05) -> int:
    """The fewest units per variant for which `power` reaches `target`."""
    if lift == 0:
        raise ValueError("the minimum detectable effect must not be 0")
    if not 0 < target < 1:
        raise ValueError("the target power must be between 0 and 1")
    # Power grows with n: double until it reaches the target, then bisect.
    low, high = 1, 2
    while power(baseline, lift, high, alpha) < target:
        if high > 10**12:  # more units than any shop has: the lift is too small to see
            raise ValueError("the minimum detectable effect is too small to reach that power")
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if power(baseline, lift, middle, alpha) >= target:
            high = middle
        else:
            low = middle
    return high
