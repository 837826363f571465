"""The two-model and X-learners recover a known heterogeneous effect, deterministically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.experiments.uplift.models import (
    Propensity,
    TwoModel,
    UpliftModelError,
    XLearner,
    load_learner,
)

NUMERIC = ("x", "noise")


def _rows(n: int = 3000, seed: int = 0, share: float = 0.5) -> tuple[pd.DataFrame, np.ndarray]:
    """Outcome = 1 + x + noise; treatment adds 1 where x > 0.5 and nothing elsewhere."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.uniform(0, 1, n),
            "noise": rng.normal(size=n),
            "channel": rng.choice(["ads", "mail"], n),
            "treated": rng.random(n) < share,
        }
    )
    effect = np.where(frame["x"] > 0.5, 1.0, 0.0)
    frame["y"] = 1 + frame["x"] + rng.normal(0, 0.5, n) + frame["treated"] * effect
    return frame, effect


@pytest.fixture(scope="module")
def rows() -> tuple[pd.DataFrame, np.ndarray]:
    return _rows()


@pytest.mark.parametrize("learner", [TwoModel, XLearner])
class TestLearners:
    def test_predicted_uplift_follows_the_true_effect(
        self, learner: type[TwoModel | XLearner], rows: tuple[pd.DataFrame, np.ndarray]
    ) -> None:
        frame, effect = rows
        model = learner(NUMERIC, ("channel",)).fit(frame, frame["treated"], frame["y"])
        uplift = model.predict_uplift(frame)
        assert np.corrcoef(uplift, effect)[0, 1] > 0.8
        assert uplift[effect == 1].mean() == pytest.approx(1.0, abs=0.15)
        assert uplift[effect == 0].mean() == pytest.approx(0.0, abs=0.15)

    def test_the_same_rows_give_the_same_model(
        self, learner: type[TwoModel | XLearner], rows: tuple[pd.DataFrame, np.ndarray]
    ) -> None:
        frame, _ = rows
        a = learner(NUMERIC, ("channel",)).fit(frame, frame["treated"], frame["y"])
        b = learner(NUMERIC, ("channel",)).fit(frame, frame["treated"], frame["y"])
        assert np.array_equal(a.predict_uplift(frame), b.predict_uplift(frame))

    def test_a_saved_model_predicts_the_same_after_loading(
        self,
        learner: type[TwoModel | XLearner],
        rows: tuple[pd.DataFrame, np.ndarray],
        tmp_path: Path,
    ) -> None:
        frame, _ = rows
        model = learner(NUMERIC, ("channel",)).fit(frame, frame["treated"], frame["y"])
        model.save(tmp_path / "m")
        loaded = load_learner(tmp_path / "m")
        assert type(loaded) is learner
        assert np.allclose(loaded.predict_uplift(frame), model.predict_uplift(frame))

    def test_a_missing_feature_column_is_named(
        self, learner: type[TwoModel | XLearner], rows: tuple[pd.DataFrame, np.ndarray]
    ) -> None:
        frame, _ = rows
        with pytest.raises(UpliftModelError, match="noise"):
            learner(NUMERIC).fit(frame.drop(columns="noise"), frame["treated"], frame["y"])

    def test_rows_of_one_arm_only_are_refused(
        self, learner: type[TwoModel | XLearner], rows: tuple[pd.DataFrame, np.ndarray]
    ) -> None:
        frame, _ = rows
        with pytest.raises(UpliftModelError, match="treated and control"):
            learner(NUMERIC).fit(frame, np.ones(len(frame), bool), frame["y"])


class TestXLearnerPropensity:
    def test_weights_the_arm_effects_by_the_treated_share(self) -> None:
        frame, _ = _rows(2000, seed=4, share=0.8)
        model = XLearner(NUMERIC).fit(frame, frame["treated"], frame["y"])
        assert model.propensity_ is not None
        assert model.propensity_.share == pytest.approx(frame["treated"].mean())

    def test_a_logistic_propensity_is_fitted_and_survives_saving(self, tmp_path: Path) -> None:
        frame, effect = _rows(2000, seed=5)
        # Assignment depends on x: more treated among large x.
        rng = np.random.default_rng(6)
        frame["treated"] = rng.random(len(frame)) < 0.2 + 0.6 * frame["x"]
        frame["y"] = 1 + frame["x"] + rng.normal(0, 0.5, len(frame)) + frame["treated"] * effect
        model = XLearner(NUMERIC, propensity="logistic").fit(frame, frame["treated"], frame["y"])
        assert model.propensity_ is not None
        g = model.propensity_(model.matrix(frame))
        assert np.corrcoef(g, frame["x"])[0, 1] > 0.9
        model.save(tmp_path / "m")
        assert np.allclose(
            load_learner(tmp_path / "m").predict_uplift(frame), model.predict_uplift(frame)
        )

    def test_a_known_share_outside_zero_to_one_is_refused(self) -> None:
        with pytest.raises(UpliftModelError, match="propensity"):
            Propensity.fit(pd.DataFrame({"x": [1.0]}), np.array([1.0]), 1.5)
