"""Multiple-testing corrections: Holm's step-down and Benjamini–Hochberg's step-up."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.experiments.stats.corrections import benjamini_hochberg, holm

# Four metrics' p-values, worked by hand. Holm, smallest first: 0.005·4, 0.01·3, 0.03·2, 0.04·1,
# each at least the one before. BH, largest first: 0.04·4/4, 0.03·4/3, 0.01·4/2, 0.005·4/1, each
# at most the one before.
P = [0.01, 0.04, 0.03, 0.005]


class TestWorkedExample:
    def test_holm_multiplies_by_the_tests_left_and_keeps_the_order(self) -> None:
        assert holm(P) == pytest.approx([0.03, 0.06, 0.06, 0.02])

    def test_benjamini_hochberg_scales_by_rank_and_keeps_the_order(self) -> None:
        assert benjamini_hochberg(P) == pytest.approx([0.02, 0.04, 0.04, 0.02])


class TestProperties:
    def setup_method(self) -> None:
        self.p = np.random.default_rng(41).beta(0.5, 1.0, 30).tolist()

    def test_adjusted_p_values_are_at_least_the_raw_ones_and_at_most_one(self) -> None:
        for correct in (holm, benjamini_hochberg):
            adjusted = correct(self.p)
            assert all(p <= q <= 1 for p, q in zip(self.p, adjusted, strict=True))

    def test_adjusting_keeps_the_ranking_of_the_p_values(self) -> None:
        for correct in (holm, benjamini_hochberg):
            order = np.argsort(self.p)
            assert np.all(np.diff(np.asarray(correct(self.p))[order]) >= 0)

    def test_the_false_discovery_rate_is_less_strict_than_the_family_wise_one(self) -> None:
        assert all(q <= h for q, h in zip(benjamini_hochberg(self.p), holm(self.p), strict=True))

    def test_tied_p_values_get_the_same_adjusted_value(self) -> None:
        for correct in (holm, benjamini_hochberg):
            adjusted = correct([0.02, 0.01, 0.02, 0.3])
            assert adjusted[0] == adjusted[2]

    def test_one_test_needs_no_correction(self) -> None:
        assert holm([0.03]) == benjamini_hochberg([0.03]) == [0.03]

    def test_no_tests_give_no_p_values(self) -> None:
        assert holm([]) == benjamini_hochberg([]) == []
