"""Qini and uplift curves, AUUC and the Qini coefficient, worked out by hand on six units."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.experiments.uplift.evaluation import captured, evaluate, top, uplift_curves

# Six units, best predicted first; treated and control alternate.
SCORES = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
TREATED = [True, False, True, False, True, False]
OUTCOME = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]


class TestQiniCurve:
    def test_is_the_treated_outcome_less_the_control_outcome_scaled_to_the_treated(self) -> None:
        curves = uplift_curves(SCORES, TREATED, OUTCOME)
        # k=1: 1 - 0; k=2: 1 - 0·1/1; k=3..5: 2 - 0; k=6: 2 - 1·3/3.
        assert curves.fraction == pytest.approx([0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1])
        assert curves.qini == pytest.approx([0, 1, 1, 2, 2, 2, 1])

    def test_uplift_curve_is_the_difference_of_means_times_the_units_targeted(self) -> None:
        curves = uplift_curves(SCORES, TREATED, OUTCOME)
        # k=5: (2/3 - 0)·5; k=6: (2/3 - 1/3)·6.
        assert curves.uplift == pytest.approx([0, 1, 2, 3, 4, 10 / 3, 2])

    def test_does_not_depend_on_the_order_of_the_rows(self) -> None:
        order = np.random.default_rng(3).permutation(6)
        shuffled = uplift_curves(*(np.asarray(a)[order] for a in (SCORES, TREATED, OUTCOME)))
        assert shuffled.qini == pytest.approx(uplift_curves(SCORES, TREATED, OUTCOME).qini)

    def test_units_with_equal_scores_are_one_step(self) -> None:
        # Either order inside a tie group gives the same curve.
        a = uplift_curves([1, 1, 0, 0], [True, False, True, False], [1, 0, 0, 0])
        b = uplift_curves([1, 1, 0, 0], [False, True, False, True], [0, 1, 0, 0])
        for curves in (a, b):
            assert curves.fraction == pytest.approx([0, 0.5, 1])
            assert curves.qini == pytest.approx([0, 1, 1])

    def test_a_part_without_controls_counts_their_mean_as_zero(self) -> None:
        curves = uplift_curves([2, 1], [True, False], [1, 1])
        assert curves.qini == pytest.approx([0, 1, 0])


class TestEvaluation:
    def test_areas_and_the_qini_coefficient_match_the_hand_computation(self) -> None:
        result = evaluate(SCORES, TREATED, OUTCOME, shares=(0.5,))
        assert (result.units, result.treated, result.control) == (6, 3, 3)
        assert result.total_lift == pytest.approx(1.0)
        # Trapezoids of width 1/6 under 0,1,1,2,2,2,1: (0.5+1+1.5+2+2+1.5)/6.
        assert result.qini_area == pytest.approx(17 / 12)
        assert result.random_qini_area == pytest.approx(0.5)
        assert result.qini_coefficient == pytest.approx((17 / 12 - 1 / 2) / 1)
        # Under (0,1,2,3,4,10/3,2)/6: (0.5+1.5+2.5+3.5+11/3+8/3)/36.
        assert result.auuc == pytest.approx(43 / 108)
        assert result.random_auuc == pytest.approx((2 / 6) / 2)
        assert result.targeted == pytest.approx({"0.5": 2.0})
        assert result.reason is None

    def test_a_ranking_that_cannot_tell_units_apart_scores_zero(self) -> None:
        rng = np.random.default_rng(1)
        treated = rng.random(400) < 0.5
        outcome = rng.poisson(np.where(treated, 1.0, 0.5)).astype(float)
        result = evaluate(np.zeros(400), treated, outcome)
        assert result.qini_coefficient == pytest.approx(0.0)
        assert result.auuc == pytest.approx(result.random_auuc)

    def test_the_true_effects_rank_far_above_random_and_their_reverse_below(self) -> None:
        rng = np.random.default_rng(2)
        effect = rng.uniform(0, 2, 4000)
        treated = rng.random(4000) < 0.5
        outcome = rng.poisson(0.5 + treated * effect).astype(float)
        best = evaluate(effect, treated, outcome)
        worst = evaluate(-effect, treated, outcome)
        assert best.qini_coefficient is not None and best.qini_coefficient > 0.1
        assert worst.qini_coefficient is not None and worst.qini_coefficient < -0.1
        assert best.targeted["0.3"] > 0.3 * best.total_lift

    def test_without_overall_lift_the_coefficient_carries_a_reason(self) -> None:
        result = evaluate([2, 1], [True, False], [1, 1])
        assert result.qini_coefficient is None
        assert result.reason is not None and "no overall lift" in result.reason

    def test_refuses_arrays_of_different_lengths_and_non_finite_values(self) -> None:
        with pytest.raises(ValueError, match="same length"):
            evaluate([1, 2], [True], [1, 0])
        with pytest.raises(ValueError, match="finite"):
            evaluate([1, np.nan], [True, False], [1, 0])


class TestCaptured:
    def test_sums_the_true_effects_of_the_top_share_by_the_ranking(self) -> None:
        effect = [0.1, 0.5, 0.2, 0.0]
        assert captured(effect, [4, 1, 3, 2], 0.5) == pytest.approx(0.3)
        assert captured(effect, effect, 0.5) == pytest.approx(0.7)
        assert captured(effect, [4, 1, 3, 2], 0.0) == 0.0

    def test_the_top_share_is_the_rounded_count_with_ties_by_position(self) -> None:
        assert top([1, 1, 1, 0], 0.5).tolist() == [True, True, False, False]
        assert top(np.arange(10), 0.3).sum() == 3

    def test_refuses_a_share_outside_zero_to_one(self) -> None:
        with pytest.raises(ValueError, match="share"):
            captured([1.0], [1.0], 1.5)
