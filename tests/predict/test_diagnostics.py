"""Diagnostics on CDNOW: holdout accuracy equal to lifetimes' (the same model), and tables."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from tenure.predict.clv import (
    BGNBD,
    calibration_vs_holdout,
    holdout_metrics,
    period_transactions,
    roc_auc,
    tracking,
)


@pytest.fixture(scope="module")
def model(cdnow: pd.DataFrame) -> BGNBD:
    return BGNBD().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


class TestCdnowHoldout:
    def test_39_week_holdout_matches_lifetimes_figures(
        self, model: BGNBD, cdnow: pd.DataFrame
    ) -> None:
        # lifetimes 0.11.3, same split: 16,874 predicted vs 19,684 actual (-14.3%), MAE 0.82,
        # ROC-AUC 0.76 for "bought again in the holdout" ranked by expected purchases.
        metrics = holdout_metrics(model, cdnow)
        assert metrics.n_customers == 23_570
        assert metrics.actual_total == 19_684
        assert metrics.predicted_total == pytest.approx(16_874, abs=1)
        assert metrics.total_error_pct == pytest.approx(-14.3, abs=0.05)
        assert metrics.mae == pytest.approx(0.82, abs=0.005)
        assert metrics.auc == pytest.approx(0.76, abs=0.005)
        assert metrics.rmse == pytest.approx(1.733, abs=0.001)

    def test_calibration_vs_holdout_groups_every_customer(
        self, model: BGNBD, cdnow: pd.DataFrame
    ) -> None:
        table = calibration_vs_holdout(model, cdnow, max_frequency=7)
        assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
        assert table["customers"].sum() == 23_570
        weighted = (table["actual"] * table["customers"]).sum()
        assert weighted == pytest.approx(19_684)
        assert table["predicted"].is_monotonic_increasing

    def test_period_transactions_expect_as_many_customers_as_there_are(
        self, model: BGNBD, cdnow: pd.DataFrame
    ) -> None:
        table = period_transactions(model, cdnow["frequency"], cdnow["T"], max_frequency=7)
        assert table["actual"].sum() == 23_570
        assert table["expected"].sum() == pytest.approx(23_570)
        assert table.loc["0", "actual"] == (cdnow["frequency"] == 0).sum()
        assert table.loc["0", "expected"] == pytest.approx(table.loc["0", "actual"], rel=0.01)

    def test_tracking_counts_repeat_purchases_week_by_week(
        self, model: BGNBD, cdnow_transactions: pd.DataFrame
    ) -> None:
        raw = cdnow_transactions
        weekly = tracking(
            model, raw["customer_id"], raw["date"], start="1997-01-01", end="1998-06-30"
        )
        assert len(weekly) == 78
        days = raw.drop_duplicates(["customer_id", "date"])
        assert weekly["actual"].sum() == len(days) - days["customer_id"].nunique()
        calibration = weekly.iloc[:39]
        assert calibration["cumulative_expected"].iloc[-1] == pytest.approx(
            calibration["cumulative_actual"].iloc[-1], rel=0.03
        )


class TestRocAuc:
    def test_equals_the_share_of_correctly_ordered_pairs_with_ties_as_half(self) -> None:
        rng = np.random.default_rng(1)
        labels = rng.random(300) < 0.3
        scores = rng.integers(0, 20, 300).astype(float)
        pairs = [
            1.0 if p > n else 0.5 if p == n else 0.0
            for p, n in itertools.product(scores[labels], scores[~labels])
        ]
        assert roc_auc(labels, scores) == pytest.approx(np.mean(pairs))

    def test_one_class_only_gives_no_auc(self, model: BGNBD, cdnow: pd.DataFrame) -> None:
        assert roc_auc([True, True], [0.1, 0.2]) is None
        nobody = cdnow.assign(frequency_holdout=0)
        metrics = holdout_metrics(model, nobody)
        assert metrics.auc is None and metrics.auc_reason
