"""The power calculator behind `tenure experiments power` and `POST /v1/experiments/power`."""

from __future__ import annotations

import math

from tenure.experiments.schemas import PowerOut, PowerRequest
from tenure.experiments.stats.power import Baseline, power, units_needed


def plan(request: PowerRequest) -> PowerOut:
    """Units per variant, in total and in days; ValueError names an impossible input."""
    proportion = request.baseline_stddev is None
    if proportion and not 0 < request.baseline_mean < 1:
        raise ValueError("a conversion rate (no standard deviation given) must be between 0 and 1")
    if request.lift == 0 or request.lift <= -1:
        raise ValueError("the lift must be non-zero and above -100 %")
    if proportion and request.baseline_mean * (1 + request.lift) >= 1:
        raise ValueError("the lifted conversion rate would reach 100 %")
    variance = (
        request.baseline_mean * (1 - request.baseline_mean)
        if request.baseline_stddev is None
        else request.baseline_stddev**2
    )
    if not math.isfinite(variance / request.baseline_mean**2) or variance == 0:
        raise ValueError("the standard deviation is too small or too large for the mean")
    baseline = Baseline(request.baseline_mean, variance, proportion)
    # Each variant is compared with the control: the test's alpha is per comparison.
    try:
        n = units_needed(baseline, request.lift, request.power, request.alpha)
    except (ZeroDivisionError, OverflowError, FloatingPointError):
        raise ValueError("the inputs are too extreme to compute a sample size") from None
    total = n * request.variants
    days = math.ceil(total / request.daily_units) if request.daily_units else None
    return PowerOut(
        units_per_variant=n, total_units=total, days=days,
        power=power(baseline, request.lift, n, request.alpha),
    )  # fmt: skip
