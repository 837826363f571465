"""Which bucket ranges belong to which variant, kept as still as possible when weights change.

A unit's bucket is a number in [0, 1) from GrowthBook's hash of (seed, unit id). Each variant
owns a list of intervals whose total length is its weight (its *capacity*); of that it uses the
first `traffic` share, so raising the traffic only adds units. A new experiment lays the
variants side by side, `[0, w₀)`, `[w₀, w₀ + w₁)` …, which with the traffic share applied is
GrowthBook's `getBucketRanges`: a GrowthBook SDK given the same seed assigns the same units.

When the weights change, a variant that shrinks gives up the end of its list and one that grows
takes the freed intervals; every other unit keeps its variant. Only the share of units that the
new weights force to move (the total variation distance between the old and new weights) moves,
where re-laying the ranges side by side can move more once there are three variants or more
(25/25/50 → 50/30/20: 30 % against 55 %).
"""

from __future__ import annotations

from collections.abc import Sequence

Interval = tuple[float, float]
Allocation = list[list[Interval]]  # per variant, in the variants' order
_EPS = 1e-12


def initial(weights: Sequence[float]) -> Allocation:
    """Side-by-side ranges, as GrowthBook lays them out."""
    out: Allocation = []
    start = 0.0
    for weight in weights:
        out.append([(start, start + weight)] if weight > 0 else [])
        start += weight
    return out


def _length(intervals: Sequence[Interval]) -> float:
    return sum(end - start for start, end in intervals)


def _prefix(intervals: Sequence[Interval], length: float) -> tuple[list[Interval], list[Interval]]:
    """The first `length` of the list, and the rest."""
    kept: list[Interval] = []
    rest: list[Interval] = []
    left = length
    for start, end in intervals:
        if left <= _EPS:
            rest.append((start, end))
        elif end - start <= left + _EPS:
            kept.append((start, end))
            left -= end - start
        else:
            kept.append((start, start + left))
            rest.append((start + left, end))
            left = 0.0
    return kept, rest


def reweight(current: Allocation, weights: Sequence[float]) -> Allocation:
    """The allocation for new weights that moves the fewest units.

    Variants may be added at the end (they start empty); none is ever removed (a variant that
    should get no more units gets weight 0)."""
    if len(weights) < len(current):
        raise ValueError("variants cannot be removed; give a variant weight 0 instead")
    lists = [list(x) for x in current] + [[] for _ in range(len(weights) - len(current))]
    for index, weight in enumerate(weights):
        if _length(lists[index]) > weight + _EPS:
            lists[index] = _prefix(lists[index], weight)[0]
    # What shrinking released, and anything no variant owned, in bucket order.
    free = _gaps(lists)
    for index, weight in enumerate(weights):
        need = weight - _length(lists[index])
        if need > _EPS:
            taken, free = _prefix(free, need)
            lists[index].extend(taken)
    return [_merged(x) for x in lists]


def _gaps(lists: Sequence[Sequence[Interval]]) -> list[Interval]:
    owned = sorted(i for intervals in lists for i in intervals)
    gaps: list[Interval] = []
    cursor = 0.0
    for start, end in owned:
        if start > cursor + _EPS:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < 1 - _EPS:
        gaps.append((cursor, 1.0))
    return gaps


def _merged(intervals: Sequence[Interval]) -> list[Interval]:
    """Adjacent pieces joined, keeping the list's order (it decides who the traffic share keeps)."""
    out: list[Interval] = []
    for start, end in intervals:
        if end - start <= _EPS:
            continue
        if out and abs(out[-1][1] - start) <= _EPS:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def ranges(allocation: Allocation, traffic: float) -> list[list[Interval]]:
    """The intervals in use: the first `traffic` share of each variant's capacity."""
    return [_prefix(x, traffic * _length(x))[0] for x in allocation]


def choose(bucket: float, in_use: Sequence[Sequence[Interval]]) -> int | None:
    """The variant whose ranges hold `bucket`, or None (outside the traffic share)."""
    for index, intervals in enumerate(in_use):
        for start, end in intervals:
            if start <= bucket < end:
                return index
    return None
