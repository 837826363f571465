"""Where the model does not beat a baseline, the evaluation says so and the scores use the baseline."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from tenure.config import Settings
from tenure.predict.churn import registry
from tenure.predict.churn.baselines import BASELINES, CalibratedBaseline, compare
from tenure.predict.churn.metrics import RankingMetrics
from tenure.predict.churn.service import (
    ChurnConfig,
    evaluate,
    feature_frame,
    order_days,
    stored_evaluation,
)
from tenure.predict.scores import model_scores
from tenure.predict.service import retrain_churn, score_churn, train_churn
from tenure.storage.warehouse import Warehouse
from tests.predict.churn_builders import ZONE, bgnbd_shop
from tests.serving import run_cli

CONFIG = ChurnConfig(horizon_days=60)


def metrics(roc: float | None, pr: float | None = 0.5, lift: float | None = 1.0) -> RankingMetrics:
    return RankingMetrics(100, 0.5, roc, pr, lift)


class TestComparison:
    def test_the_model_is_used_only_when_it_beats_the_best_baseline(self) -> None:
        wins = compare({"model": metrics(0.8), "recency": metrics(0.7), "b": metrics(0.79)})
        assert (wins.ranker, wins.best_baseline, wins.code) == (
            "model",
            "b",
            "churn.verdict.model_wins",
        )
        loses = compare({"model": metrics(0.78), "recency": metrics(0.7), "b": metrics(0.79)})
        assert (loses.ranker, loses.best_baseline) == ("b", "b")
        assert loses.code == "churn.verdict.baseline_wins"
        assert loses.beats == {
            "recency": {"roc_auc": True, "pr_auc": False, "top_decile_lift": False},
            "b": {"roc_auc": False, "pr_auc": False, "top_decile_lift": False},
        }

    def test_a_tie_goes_to_the_simpler_baseline(self) -> None:
        tie = compare({"model": metrics(0.8), "recency": metrics(0.8), "b": metrics(0.8)})
        assert tie.ranker == "recency"

    def test_a_window_with_one_class_decides_nothing_and_keeps_the_model(self) -> None:
        none = compare({"model": metrics(None, None, None), "recency": metrics(None, None)})
        assert (none.ranker, none.code) == ("model", "churn.verdict.undecided")
        assert none.beats["recency"]["roc_auc"] is None

    def test_a_baseline_without_scores_cannot_win(self) -> None:
        result = compare({"model": metrics(0.6), "recency": metrics(0.5), "bg": metrics(None)})
        assert (result.ranker, result.best_baseline) == ("model", "recency")

    def test_the_message_names_the_baseline_and_both_figures(self) -> None:
        loses = compare({"model": metrics(0.78), "recency": metrics(0.79)})
        message = loses.as_dict()["message"]
        assert "does not beat" in message and "0.7800" in message and "0.7900" in message
        assert "recency" in message


class TestCalibratedBaseline:
    def test_probabilities_follow_the_score_and_are_calibrated_in_bands(self) -> None:
        rng = np.random.default_rng(3)
        recency = rng.uniform(0, 200, 4000)
        churned = (rng.random(4000) < recency / 200).astype(float)
        frame = pd.DataFrame({"recency_days": recency})
        fitted = CalibratedBaseline.fit("recency", frame, churned)
        p = fitted.predict_proba(frame)
        order = np.argsort(recency)
        assert (np.diff(p[order]) >= 0).all()
        assert abs(p.mean() - churned.mean()) < 0.01
        again = CalibratedBaseline.from_dict(json.loads(json.dumps(fitted.as_dict())))
        np.testing.assert_array_equal(again.predict_proba(frame), p)
        (driver,) = fitted.drivers(frame.head(1), p[:1])[0]
        assert driver["feature"] == "recency_days"


@pytest.fixture(scope="module")
def bgnbd_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop whose customers follow BG/NBD exactly: nothing for a classifier to add."""
    home = tmp_path_factory.mktemp("bgnbd") / "home"
    bgnbd_shop(home, 1500, 1)
    return home


@pytest.fixture
def home(bgnbd_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(bgnbd_home, copy)
    return copy


def settings_of(home: Path) -> Settings:
    return Settings(home=home, timezone=ZONE)


class TestWhereBgnbdWins:
    def test_the_evaluation_says_the_model_does_not_beat_the_best_baseline(
        self, bgnbd_home: Path
    ) -> None:
        with Warehouse(settings_of(bgnbd_home)).reader() as con:
            result = evaluate(con, ZoneInfo(ZONE), CONFIG)
        comparison = result["comparison"]
        assert comparison["ranker"].startswith("bgnbd_") and not comparison["model_wins"]
        assert comparison["model_beats"][comparison["ranker"]]["roc_auc"] is False
        model = result["rankings"]["model"]["roc_auc"]
        assert model <= result["rankings"][comparison["ranker"]]["roc_auc"]
        assert "does not beat" in comparison["message"]
        json.dumps(result)

    def test_training_records_the_baseline_and_the_written_scores_come_from_it(
        self, home: Path
    ) -> None:
        settings = settings_of(home)
        warehouse = Warehouse(settings)
        zone = ZoneInfo(ZONE)
        with warehouse.reader() as con:
            evaluated = evaluate(con, zone, CONFIG)
            last = order_days(con, zone)[1]
            frame = feature_frame(con, last, zone, CONFIG.horizon_days)
        trained = train_churn(settings, warehouse, CONFIG)
        meta = registry.metadata(home)
        # The choice is the default evaluation's: the last window before the as-of day.
        ranker = evaluated["comparison"]["ranker"]
        assert meta["ranker"] == trained["ranker"] == ranker
        selection = meta["selection"]
        assert selection["evaluated"] and selection["cutoff"] == evaluated["cutoff"]
        assert selection["roc_auc"]["model"] == pytest.approx(
            evaluated["rankings"]["model"]["roc_auc"], abs=1e-4
        )
        assert meta["baseline"]["name"] == ranker
        # The whole evaluation is kept with the version, for the console.
        kept = stored_evaluation(home)
        assert kept is not None and kept.evaluation is not None
        assert kept.evaluation == selection["evaluation"]
        assert kept.evaluation["cutoff"] == evaluated["cutoff"]
        assert kept.evaluation["comparison"]["ranker"] == ranker

        _, values = score_churn(settings, warehouse)
        expected = CalibratedBaseline.from_dict(meta["baseline"]).predict_proba(frame)
        np.testing.assert_array_equal(values["churn_probability"].to_numpy(), expected.round(4))
        with warehouse.reader() as con:
            stored = model_scores(con, "churn").loc[values.index]
        np.testing.assert_array_equal(stored["churn_probability"].to_numpy(), expected.round(4))
        column = BASELINES[ranker].column
        assert {row[0]["feature"] for row in stored["drivers"]} == {column}
        # Same columns as a model's scores.
        assert set(stored.columns) >= {
            "churn_probability",
            "horizon_days",
            "as_of",
            "p_alive",
            "recency_days",
            "next_order_date",
            "drivers",
        }
        # The written ranking is the baseline's: probability never falls as its score rises.
        score = BASELINES[ranker].scores(frame)
        order = np.argsort(score, kind="stable")
        assert (np.diff(expected[order]) >= 0).all()

    def test_the_weekly_job_reports_where_the_scores_come_from(self, home: Path) -> None:
        settings = settings_of(home)
        result = retrain_churn(settings, Warehouse(settings))
        assert result["ranker"].startswith("bgnbd_")

    def test_the_cli_table_says_so(self, home: Path) -> None:
        out = run_cli(home, "predict", "churn-eval", "--horizon-days", "60", TENURE_TIMEZONE=ZONE)
        assert out.returncode == 0, out.stderr
        assert "does not beat" in " ".join(out.stdout.split())
        report = home / "eval.html"
        out = run_cli(
            home,
            "predict",
            "churn-eval",
            "--horizon-days",
            "60",
            "--format",
            "html",
            "--out",
            str(report),
            TENURE_TIMEZONE=ZONE,
        )
        assert out.returncode == 0, out.stderr
        assert "does not beat" in report.read_text("utf-8")


class TestWhereTheModelWins:
    def test_the_model_version_says_the_model_won(self, churn_shop: Path, tmp_path: Path) -> None:
        home = tmp_path / "home"
        shutil.copytree(churn_shop, home)
        settings = Settings(home=home)
        trained = train_churn(settings, Warehouse(settings), CONFIG)
        assert trained["ranker"] == "model" and "baseline" not in trained
        assert trained["selection"]["model_wins"]


def test_too_short_a_history_for_the_choice_keeps_the_model_and_says_why(
    churn_shop: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(churn_shop, home)
    settings = Settings(home=home)
    warehouse = Warehouse(settings)
    with warehouse.reader() as con:
        first = order_days(con, ZoneInfo("UTC"))[0]
    as_of = first + timedelta(days=110)
    trained = train_churn(settings, warehouse, ChurnConfig(horizon_days=90), as_of)
    assert trained["ranker"] == "model"
    assert trained["selection"]["evaluated"] is False
    assert trained["selection"]["reason"] == (
        f"only 20 days of orders before {first + timedelta(days=20)}"
    )
    assert date.fromisoformat(trained["as_of"]) == as_of


def test_a_training_day_before_any_full_window_keeps_the_model_without_evaluating() -> None:
    # Found by the 60-example fuzz run: `as_of` 0001-01-01 overflowed `as_of - horizon`.
    from tenure.predict.churn.service import select_ranker

    chosen = select_ranker(None, ZoneInfo("UTC"), ChurnConfig(), date(2024, 1, 5), date(1, 1, 1))  # type: ignore[arg-type]
    assert (chosen["evaluated"], chosen["ranker"]) == (False, "model")
    assert "no full 90-day window" in chosen["reason"]
