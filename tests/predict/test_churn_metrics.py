"""Ranking metrics on hand-counted examples."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.predict.churn.metrics import calibration_bins, ranking_metrics, top_decile_lift


class TestRanking:
    def test_auc_counts_correctly_ordered_pairs(self) -> None:
        labels = [1, 0, 1, 0, 0]
        scores = [0.9, 0.8, 0.4, 0.3, 0.1]
        # Pairs (churner, stayer): 0.9 beats all 3; 0.4 beats 0.3 and 0.1, loses to 0.8: 5 / 6.
        metrics = ranking_metrics(labels, scores)
        assert metrics.roc_auc == pytest.approx(5 / 6)
        # Precision at each churner: 1/1 and 2/3, averaged.
        assert metrics.pr_auc == pytest.approx((1 + 2 / 3) / 2)
        assert metrics.churn_rate == pytest.approx(0.4)

    def test_a_score_with_gaps_has_no_metrics_instead_of_an_error(self) -> None:
        # A BG/NBD fit on degenerate histories can give NaN; the evaluation answered 500.
        metrics = ranking_metrics([1, 0, 1, 0], [0.9, np.nan, 0.4, 0.3], probability=True)
        assert (metrics.roc_auc, metrics.pr_auc, metrics.top_decile_lift) == (None, None, None)
        assert metrics.customers == 4

    def test_one_class_only_has_no_auc(self) -> None:
        metrics = ranking_metrics([1, 1, 1], [0.2, 0.5, 0.9])
        assert (metrics.roc_auc, metrics.pr_auc) == (None, None)

    def test_top_decile_lift_is_the_top_tenth_rate_over_the_base_rate(self) -> None:
        labels = np.array([1, 1, 0] + [0] * 17)  # base rate 0.1
        scores = np.arange(20, 0, -1, dtype=float)  # the first rows score highest
        # Top 2 rows: both churned, rate 1.0 against 0.1.
        assert top_decile_lift(labels, scores) == pytest.approx(10.0)
        assert top_decile_lift(labels[:5], scores[:5]) is None  # fewer than ten customers


class TestCalibration:
    def test_bins_compare_mean_prediction_with_observed_rate(self) -> None:
        labels = np.array([0, 0, 1, 1, 1, 0])
        probs = np.array([0.05, 0.15, 0.95, 0.92, 0.55, 0.45])
        bins = calibration_bins(labels, probs, bins=2)
        assert [(b.customers, round(b.predicted, 4), b.observed) for b in bins] == [
            (3, round((0.05 + 0.15 + 0.45) / 3, 4), 0.0),
            (3, round((0.95 + 0.92 + 0.55) / 3, 4), 1.0),
        ]

    def test_brier_and_calibration_error_for_probabilities(self) -> None:
        labels = [0, 1, 1, 0]
        probs = [0.2, 0.8, 0.6, 0.4]
        metrics = ranking_metrics(labels, probs, probability=True)
        assert metrics.brier == pytest.approx((0.04 + 0.04 + 0.16 + 0.16) / 4)
        # Bins of width 0.1: each customer alone, gaps 0.2, 0.2, 0.4, 0.4.
        assert metrics.calibration_error == pytest.approx((0.2 + 0.2 + 0.4 + 0.4) / 4)
