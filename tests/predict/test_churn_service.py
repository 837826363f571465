"""Churn end to end on a simulated shop: leakage-free plans, versions, scores, evaluation."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tenure.config import Settings
from tenure.predict.churn import registry
from tenure.predict.churn.service import (
    MODEL_FEATURES,
    ChurnConfig,
    ChurnInputError,
    evaluate,
    order_days,
    plan_training,
)
from tenure.predict.scores import latest_scores, model_scores
from tenure.predict.service import retrain_churn, score_churn, train_churn
from tenure.storage.warehouse import Warehouse


class TestTrainingPlan:
    def test_a_long_history_gets_full_horizon_windows_a_step_apart(self) -> None:
        plan = plan_training(date(2024, 1, 1), date(2024, 12, 31), ChurnConfig(90, 3, 30))
        assert plan.label_days == 90
        assert plan.cutoffs == (date(2024, 10, 2), date(2024, 9, 2), date(2024, 8, 3))

    def test_a_short_history_gets_half_of_it_as_label_window(self) -> None:
        plan = plan_training(date(2024, 1, 1), date(2024, 3, 1), ChurnConfig(90, 3, 30))
        assert (plan.label_days, plan.cutoffs) == (30, (date(2024, 1, 31),))

    def test_too_little_history_is_refused(self) -> None:
        with pytest.raises(ChurnInputError):
            plan_training(date(2024, 1, 1), date(2024, 1, 21), ChurnConfig())


@pytest.fixture
def home(churn_shop: Path, tmp_path: Path) -> Path:
    """A private copy of the simulated shop (the tests write models and scores)."""
    copy = tmp_path / "home"
    shutil.copytree(churn_shop, copy)
    return copy


class TestTrainAndScore:
    def test_training_stores_a_version_whose_labels_end_by_the_as_of_day(self, home: Path) -> None:
        settings = Settings(home=home)
        as_of = date(2024, 12, 1)
        trained = train_churn(settings, Warehouse(settings), ChurnConfig(horizon_days=60), as_of)
        assert registry.versions(home) == [trained["version"]]
        meta = registry.metadata(home)
        for cutoff in meta["cutoffs"]:
            assert date.fromisoformat(cutoff) + timedelta(days=meta["label_days"]) <= as_of
        assert meta["horizon_days"] == 60
        assert set(meta["importance"]) == {*MODEL_FEATURES, "channel"}

    def test_scoring_writes_one_churn_row_per_customer(self, home: Path) -> None:
        settings = Settings(home=home)
        warehouse = Warehouse(settings)
        trained = train_churn(settings, warehouse, ChurnConfig())
        version, values = score_churn(settings, warehouse)
        assert version == trained["version"]
        with warehouse.reader() as con:
            last = order_days(con, ZoneInfo("UTC"))[1]
            customers = (
                con.table("orders")
                .filter(lambda t: t.user_id.notnull() & (t.status == "paid"))
                .user_id.nunique()
                .execute()
            )
            stored = model_scores(con, "churn")
            one = latest_scores(con, str(values.index[0]))
        assert len(values) == len(stored) == customers
        assert stored.churn_probability.between(0, 1, inclusive="neither").all()
        assert (stored.as_of == str(last)).all()
        next_days = stored.next_order_date.dropna().map(date.fromisoformat)
        assert (next_days > last).all()
        drivers = stored.drivers.iloc[0]
        assert len(drivers) == 3
        assert {d["feature"] for d in drivers} <= {*MODEL_FEATURES, "channel"}
        assert one["churn"]["version"] == version

    def test_scoring_without_a_model_is_a_clear_error(self, home: Path) -> None:
        settings = Settings(home=home)
        with pytest.raises(registry.ChurnModelMissing):
            score_churn(settings, Warehouse(settings))

    def test_no_write_leaves_the_scores_table_alone(self, home: Path) -> None:
        settings = Settings(home=home)
        warehouse = Warehouse(settings)
        train_churn(settings, warehouse, ChurnConfig())
        _, values = score_churn(settings, warehouse, write=False)
        assert len(values) > 0
        with warehouse.reader() as con:
            assert con.table("scores").count().execute() == 0


class TestRetraining:
    def test_the_scheduled_retrain_keeps_the_shops_churn_definition(self, home: Path) -> None:
        settings = Settings(home=home)
        warehouse = Warehouse(settings)
        train_churn(settings, warehouse, ChurnConfig(horizon_days=45, windows=2))
        result = retrain_churn(settings, warehouse)
        assert len(registry.versions(home)) == 2
        meta = registry.metadata(home)
        assert (meta["horizon_days"], meta["windows"], len(meta["cutoffs"])) == (45, 2, 2)
        assert result["horizon_days"] == 45
        with warehouse.reader() as con:
            stored = model_scores(con, "churn")
        assert len(stored) == result["scored"] and (stored.horizon_days == 45).all()


class TestEvaluation:
    def test_the_model_outranks_recency_on_a_later_window(self, churn_shop: Path) -> None:
        with Warehouse(Settings(home=churn_shop)).reader() as con:
            result = evaluate(con, ZoneInfo("UTC"), ChurnConfig(horizon_days=60))
            last = order_days(con, ZoneInfo("UTC"))[1]
        assert result["window_end"] == str(last)
        assert date.fromisoformat(result["training_cutoffs"][0]) + timedelta(
            days=result["training_label_days"]
        ) <= date.fromisoformat(result["cutoff"])
        rankings = result["rankings"]
        assert set(rankings) == {
            "model",
            "recency",
            "bgnbd_p_alive",
            "bgnbd_p_order",
            "bgnbd_expected_orders",
        }
        assert rankings["model"]["roc_auc"] > rankings["recency"]["roc_auc"]
        comparison = result["comparison"]
        assert comparison["model_beats"]["recency"]["roc_auc"] is True
        assert comparison["ranker"] == "model" and comparison["model_wins"]
        assert rankings["model"]["calibration_error"] < 0.1
        json.dumps(result)  # plain values all the way down

    def test_a_window_past_the_data_is_refused(self, churn_shop: Path) -> None:
        with Warehouse(Settings(home=churn_shop)).reader() as con:
            last = order_days(con, ZoneInfo("UTC"))[1]
            with pytest.raises(ChurnInputError):
                evaluate(
                    con, ZoneInfo("UTC"), ChurnConfig(horizon_days=60), last - timedelta(days=30)
                )
