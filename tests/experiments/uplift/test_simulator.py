"""On the simulator, whose true individual effects are known, uplift targeting beats churn risk.

The simulator treats half the eligible customers on 1 July 2024 and raises each treated
customer's purchase rate for 28 days by a factor that depends on their stage (active, at risk,
lapsed); its truth file holds every customer's expected incremental orders. An X-learner fitted
on the treated/untreated assignment ranks held-out customers; the top 30 % of them by predicted
uplift must hold clearly more true incremental orders than the top 30 % by churn risk (the
project's churn model, trained on the data before the campaign day), and than random targeting.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.cli.simulate import import_simulation
from tenure.config import Settings
from tenure.experiments.uplift.data import training_frame, units_from_rows
from tenure.experiments.uplift.evaluation import captured
from tenure.experiments.uplift.service import Fitted, UpliftConfig, fit_frame
from tenure.predict.churn.service import ChurnConfig, score, train
from tenure.simulate import SimulationConfig, simulate_shop
from tenure.simulate.config import CampaignSpec
from tenure.storage.locking import file_lock
from tenure.storage.warehouse import Warehouse

DAY = datetime(2024, 7, 1, tzinfo=UTC)
SPEC = CampaignSpec(day=DAY.date(), treated_share=0.5, duration_days=28, base_lift=1.0)
CONFIG = replace(SimulationConfig(users=20_000, days=240, seed=5, chunk_users=5000), campaign=SPEC)
SHARE = 0.3


pytestmark = pytest.mark.xdist_group("uplift_simulator")


@dataclass
class Shop:
    settings: Settings
    truth: pd.DataFrame  # eligible users: treated, stage, expected_incremental_orders
    frame: pd.DataFrame  # the uplift training frame
    fitted: Fitted
    held: pd.DataFrame  # held-out customers: uplift, churn probability, true effect


def _build(folder: Path) -> None:
    """Simulate and import the shop; train the churn model on the eve of the campaign and
    keep its probabilities (churn.parquet)."""
    simulate_shop(CONFIG, folder / "sim")
    settings = Settings(home=folder / "home")
    warehouse = Warehouse(settings)
    import_simulation(folder / "sim", settings, warehouse)
    before = DAY.date() - timedelta(days=1)
    with warehouse.reader() as con:
        model = train(con, settings.zone, settings.home, ChurnConfig(), as_of=before)
        _, churn = score(con, settings.zone, settings.home, before, str(model["version"]))
    churn[["churn_probability"]].to_parquet(folder / "churn.parquet")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    # One shop for every xdist worker of the run: their temp folders share a parent.
    base = tmp_path_factory.getbasetemp()
    base = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = base / "uplift-simulated-shop"
    with file_lock(base / "uplift-simulated-shop.lock", exclusive=True, timeout=600):
        if not (folder / "ready").exists():
            _build(folder)
            (folder / "ready").touch()
    settings = Settings(home=folder / "home")
    truth = pd.read_parquet(folder / "sim" / "truth" / "campaign_truth.parquet")
    truth = truth[truth["eligible"]].reset_index(drop=True)
    units = units_from_rows(
        zip(truth["user_id"], truth["treated"], [DAY] * len(truth), strict=True)
    )
    with Warehouse(settings).reader() as con:
        frame = training_frame(con, units, settings.zone, SPEC.duration_days)
    fitted = fit_frame(frame, UpliftConfig(outcome_days=SPEC.duration_days))
    churn = pd.read_parquet(folder / "churn.parquet")["churn_probability"]
    effect = truth.set_index("user_id")["expected_incremental_orders"]
    users = fitted.held_out["user_id"]
    held = fitted.held_out.assign(
        churn=churn.reindex(users).to_numpy(), effect=effect.reindex(users).to_numpy()
    )
    return Shop(settings, truth, frame, fitted, held)


def test_training_rows_are_the_customers_before_the_campaign_with_their_orders_after(
    shop: Shop,
) -> None:
    customers = shop.truth[shop.truth["stage"].isin(["active", "at_risk", "lapsed"])]
    assert sorted(shop.frame["user_id"]) == sorted(customers["user_id"])
    with Warehouse(shop.settings).reader() as con:
        orders = con.table("orders").select("user_id", "ts", "status").execute()
    orders["ts"] = pd.to_datetime(orders["ts"], utc=True)
    window = (orders["ts"] >= DAY) & (orders["ts"] < DAY + timedelta(days=28))
    after = orders[window & (orders["status"] == "paid")].groupby("user_id").size()
    expected = after.reindex(shop.frame["user_id"]).fillna(0).to_numpy()
    assert np.array_equal(shop.frame["orders_after"].to_numpy(), expected)
    assert (shop.frame["recency_days"] > 0).all()  # features read only orders before the day


def test_top_30_percent_by_uplift_captures_clearly_more_true_orders_than_by_churn_risk(
    shop: Shop, record_property: Callable[[str, object], None]
) -> None:
    held = shop.held
    assert not held["churn"].isna().any()
    by_uplift = captured(held["effect"], held["uplift"], SHARE)
    by_churn = captured(held["effect"], held["churn"], SHARE)
    at_random = SHARE * float(held["effect"].sum())
    best = captured(held["effect"], held["effect"], SHARE)
    figures = {
        "held_out_customers": len(held),
        "true_incremental_orders_top30_uplift": round(by_uplift, 1),
        "true_incremental_orders_top30_churn": round(by_churn, 1),
        "true_incremental_orders_top30_random": round(at_random, 1),
        "true_incremental_orders_top30_oracle": round(best, 1),
        "qini_coefficient": round(shop.fitted.evaluation.qini_coefficient or 0.0, 4),
    }
    for name, value in figures.items():
        record_property(name, value)
    print(figures)
    assert by_uplift >= 1.5 * by_churn, figures
    assert by_uplift >= 1.3 * at_random, figures


def test_the_held_out_qini_curve_beats_random_targeting(shop: Shop) -> None:
    evaluation = shop.fitted.evaluation
    assert evaluation.treated > 500 and evaluation.control > 500
    assert evaluation.total_lift > 0
    assert evaluation.qini_coefficient is not None and evaluation.qini_coefficient > 0
    assert evaluation.targeted["0.3"] > SHARE * evaluation.total_lift
    assert evaluation.auuc > evaluation.random_auuc
