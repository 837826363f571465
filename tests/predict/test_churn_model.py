"""The LightGBM churn model on synthetic data with a known churn probability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from tenure.predict.churn.metrics import ranking_metrics
from tenure.predict.churn.model import ChurnModel, ChurnModelError


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Churn log-odds = 1.5·(recency − 1) − 0.8·orders + channel effect; noise is irrelevant."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "recency": rng.exponential(1.0, n),
            "orders": rng.poisson(2.0, n).astype(float),
            "noise": rng.normal(size=n),
            "channel": rng.choice(["ads", "email", "organic"], n),
        }
    )
    effect = frame["channel"].map({"ads": 0.8, "email": -0.8, "organic": 0.0}).to_numpy()
    truth = expit(1.5 * (frame["recency"] - 1.0) - 0.8 * frame["orders"] + 1.0 + effect)
    labels = (rng.random(n) < truth).astype(int)
    return frame, labels, np.asarray(truth)


@pytest.fixture(scope="module")
def model() -> ChurnModel:
    frame, labels, _ = synthetic(6000, seed=1)
    return ChurnModel(("recency", "orders", "noise"), ("channel",)).fit(frame, labels)


class TestQuality:
    def test_ranking_approaches_the_true_probability_on_new_customers(
        self, model: ChurnModel
    ) -> None:
        frame, labels, truth = synthetic(4000, seed=2)
        fitted = ranking_metrics(labels, model.predict_proba(frame), probability=True)
        oracle = ranking_metrics(labels, truth)
        assert fitted.roc_auc is not None and oracle.roc_auc is not None
        assert fitted.roc_auc > oracle.roc_auc - 0.02
        assert fitted.calibration_error is not None and fitted.calibration_error < 0.04

    def test_unseen_channel_levels_do_not_break_scoring(self, model: ChurnModel) -> None:
        frame, _, _ = synthetic(10, seed=3)
        frame["channel"] = "tiktok"
        assert np.isfinite(model.predict_proba(frame)).all()


class TestDrivers:
    def test_contributions_add_up_to_the_raw_log_odds(self, model: ChurnModel) -> None:
        frame, _, _ = synthetic(50, seed=4)
        contributions = model.contributions(frame)
        total = contributions.sum(axis=1).to_numpy()
        np.testing.assert_allclose(total, logit(model.raw_score(frame)), rtol=1e-6)

    def test_the_top_driver_is_the_largest_contribution_with_the_customers_value(
        self, model: ChurnModel
    ) -> None:
        frame, _, _ = synthetic(20, seed=5)
        contributions = model.contributions(frame).drop(columns="_bias")
        drivers = model.drivers(frame, top=2)
        for i, row in enumerate(drivers):
            largest = contributions.iloc[i].abs().idxmax()
            assert row[0]["feature"] == largest
            assert row[0]["effect"] == pytest.approx(contributions.iloc[i][largest], abs=1e-4)
            value = frame.iloc[i][largest]
            assert row[0]["value"] == (
                value if isinstance(value, str) else pytest.approx(value, abs=1e-3)
            )
        noise = sum(d["feature"] == "noise" for row in drivers for d in row[:1])
        assert noise <= 2  # noise rarely leads


class TestPersistence:
    def test_a_saved_model_predicts_the_same(self, model: ChurnModel, tmp_path: Path) -> None:
        frame, _, _ = synthetic(100, seed=6)
        model.save(tmp_path / "m")
        loaded = ChurnModel.load(tmp_path / "m")
        np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
        assert loaded.drivers(frame) == model.drivers(frame)


def test_one_class_only_is_refused() -> None:
    frame, _, _ = synthetic(100, seed=7)
    with pytest.raises(ChurnModelError):
        ChurnModel(("recency", "orders")).fit(frame, np.zeros(100))


def test_a_missing_feature_column_is_named() -> None:
    frame, labels, _ = synthetic(100, seed=8)
    with pytest.raises(ChurnModelError, match="missing feature column\\(s\\): tenure"):
        ChurnModel(("recency", "tenure")).fit(frame, labels)
