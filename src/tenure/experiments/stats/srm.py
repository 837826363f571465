"""Sample-ratio mismatch: did the variants get the traffic their weights promise?

A chi-square goodness-of-fit test of the units per variant against the weights, as gbstats'
`check_srm`; a p-value under `SRM_THRESHOLD` (GrowthBook's default, 0.001) flags the result:
the assignment or the exposure logging is broken, and the lifts cannot be trusted.
"""

from __future__ import annotations

from collections.abc import Sequence

SRM_THRESHOLD = 0.001


def srm_p_value(units: Sequence[int], weights: Sequence[float]) -> float:
    """The chi-square p-value of `units` against `weights` (1 when there are no units)."""
    from scipy.stats import chi2

    total = sum(units)
    if not total:
        return 1.0
    weight_sum = sum(weights)
    statistic = 0.0
    for observed, weight in zip(units, weights, strict=True):
        if weight <= 0:
            continue
        expected = weight / weight_sum * total
        statistic += (observed - expected) ** 2 / expected
    return float(chi2.sf(statistic, len(units) - 1))
