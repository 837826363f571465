"""Bucket ranges: GrowthBook's layout for a new experiment, and weight changes that move the
fewest units."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.experiments import allocation

BUCKETS = np.arange(10_000) / 10_000  # every hash-v2 bucket once


def _variant_of(owned: allocation.Allocation, traffic: float = 1.0) -> np.ndarray:
    in_use = allocation.ranges(owned, traffic)
    return np.array([-1 if (v := allocation.choose(b, in_use)) is None else v for b in BUCKETS])


class TestLayout:
    def test_a_new_experiment_lays_variants_side_by_side_like_growthbook(self) -> None:
        owned = allocation.initial([0.2, 0.3, 0.5])
        # GrowthBook getBucketRanges(3, 0.5, [0.2, 0.3, 0.5]) = [[0, .1], [.2, .35], [.5, .75]]
        assert allocation.ranges(owned, 0.5) == [[(0.0, 0.1)], [(0.2, 0.35)], [(0.5, 0.75)]]

    def test_a_bucket_outside_the_traffic_share_gets_no_variant(self) -> None:
        owned = allocation.initial([0.5, 0.5])
        assert allocation.choose(0.3, allocation.ranges(owned, 0.5)) is None
        assert allocation.choose(0.2, allocation.ranges(owned, 0.5)) == 0


class TestWeightChanges:
    @pytest.mark.parametrize(
        ("before", "after"),
        [
            ([0.5, 0.5], [0.2, 0.8]),
            ([0.5, 0.5], [0.9, 0.1]),
            ([0.25, 0.25, 0.5], [0.5, 0.3, 0.2]),
            ([0.1, 0.9], [0.6, 0.4]),
            ([0.5, 0.5], [0.4, 0.4, 0.2]),  # a variant added
        ],
    )
    def test_only_the_share_the_new_weights_force_moves(
        self, before: list[float], after: list[float]
    ) -> None:
        owned = allocation.initial(before)
        moved_to = allocation.reweight(owned, after)
        old, new = _variant_of(owned), _variant_of(moved_to)
        padded = before + [0.0] * (len(after) - len(before))
        forced = sum(max(0.0, b - a) for b, a in zip(padded, after, strict=True))
        assert np.mean(old != new) == pytest.approx(forced, abs=2e-4)
        shares = np.bincount(new, minlength=len(after)) / BUCKETS.size
        assert shares == pytest.approx(after, abs=2e-4)

    def test_laying_the_ranges_side_by_side_again_would_move_more(self) -> None:
        owned = allocation.initial([0.25, 0.25, 0.5])
        sticky = _variant_of(allocation.reweight(owned, [0.5, 0.3, 0.2]))
        naive = _variant_of(allocation.initial([0.5, 0.3, 0.2]))
        before = _variant_of(owned)
        assert np.mean(before != sticky) < np.mean(before != naive)

    def test_changes_back_and_forth_keep_every_bucket_owned_once(self) -> None:
        owned = allocation.initial([0.5, 0.5])
        for weights in ([0.1, 0.9], [0.7, 0.3], [0.3, 0.3, 0.4], [0.5, 0.25, 0.25]):
            owned = allocation.reweight(owned, weights)
            assert (_variant_of(owned) >= 0).all()
            lengths = [sum(e - s for s, e in intervals) for intervals in owned]
            assert lengths == pytest.approx(weights, abs=1e-9)

    def test_raising_the_traffic_share_keeps_every_unit_already_in(self) -> None:
        owned = allocation.reweight(allocation.initial([0.5, 0.5]), [0.3, 0.7])
        small, large = _variant_of(owned, 0.2), _variant_of(owned, 0.6)
        inside = small >= 0
        assert (large[inside] == small[inside]).all()
        assert np.mean(large >= 0) == pytest.approx(0.6, abs=2e-4)

    def test_a_variant_cannot_be_removed(self) -> None:
        with pytest.raises(ValueError, match="weight 0"):
            allocation.reweight(allocation.initial([0.3, 0.3, 0.4]), [0.5, 0.5])
