"""Lifecycle stages, their start days, the transition log, and model-based thresholds."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from tenure.analytics.base import InvalidQuery
from tenure.config import Settings
from tenure.predict.clv import BGNBD
from tenure.segments import service
from tenure.segments.lifecycle import LifecycleQuery, LifecycleRunner
from tenure.segments.runs import run_lifecycle
from tenure.segments.thresholds import silence_until_p_alive
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.segments.builders import AS_OF, build_shop

# Worked out by hand (new 30 d, at risk after 90 d, churned after 180 d, loyal from 3 orders).
STAGES = {
    "u1": ("loyal", date(2024, 3, 30)),  # the third order made them loyal
    "u2": ("new", date(2024, 3, 25)),
    "u3": ("reactivated", date(2024, 3, 20)),  # back after 293 silent days
    "u4": ("at_risk", date(2024, 3, 15)),  # last order 2023-12-15 + 91 days
    "u5": ("churned", date(2024, 1, 29)),  # last order 2023-08-01 + 181 days
    "u6": ("active", date(2024, 2, 4)),  # "new" ended 30 days after the first order
    "u7": ("loyal", date(2023, 12, 1)),
    "u8": ("new", date(2024, 3, 31)),
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_shop(tmp_path_factory.mktemp("life"))


def stages(shop: Warehouse, **query: object) -> dict[str, tuple[str, date]]:
    runner = LifecycleRunner(LifecycleQuery.model_validate(query), ZoneInfo("UTC"))
    with shop.reader() as con:
        table = runner.table(con)
        assert table is not None
        frame = table.execute()
    return {r.user_id: (r.stage, pd.Timestamp(r.since).date()) for r in frame.itertuples()}


class TestFixedThresholds:
    def test_each_customer_is_in_the_hand_worked_stage_since_the_right_day(
        self, shop: Warehouse
    ) -> None:
        assert stages(shop) == STAGES

    def test_counts_cover_all_six_stages_in_order(self, shop: Warehouse) -> None:
        with shop.reader() as con:
            result = LifecycleRunner(LifecycleQuery(), ZoneInfo("UTC"))(con)
        assert result.as_of == AS_OF and result.customers == 8
        assert [(s.stage, s.users) for s in result.stages] == [
            ("new", 2), ("active", 1), ("loyal", 2), ("at_risk", 1), ("churned", 1),
            ("reactivated", 1),
        ]  # fmt: skip

    def test_thresholds_are_configurable(self, shop: Warehouse) -> None:
        got = stages(shop, at_risk_days=50, churn_days=100, loyal_orders=2)
        assert got["u7"] == ("at_risk", date(2024, 3, 23))  # 2024-02-01 + 51 days
        assert got["u4"] == ("churned", date(2024, 3, 25))  # 2023-12-15 + 101 days
        assert got["u6"] == ("at_risk", date(2024, 2, 26))  # 85 silent days: at risk, not churned
        assert got["u3"] == ("loyal", date(2024, 3, 20)) or got["u3"][0] == "reactivated"

    def test_a_return_from_at_risk_starts_a_new_active_spell(self, shop: Warehouse) -> None:
        # With at risk after 20 days, u1's order on 2024-03-30 came 49 days after the previous.
        got = stages(shop, at_risk_days=20, churn_days=400)
        assert got["u1"] == ("loyal", date(2024, 3, 30))
        assert got["u3"] == ("active", date(2024, 3, 20))  # 293 days is no churn at 400

    def test_the_windows_must_nest(self, shop: Warehouse) -> None:
        with pytest.raises(InvalidQuery), shop.reader() as con:
            LifecycleRunner(LifecycleQuery(at_risk_days=200, churn_days=100), ZoneInfo("UTC"))(con)


class TestShopLocalDays:
    def test_days_are_counted_in_the_shops_zone(self, tmp_path: Path) -> None:
        # The same local times in Tokyo: every stage and day is unchanged.
        shop = build_shop(tmp_path, zone="Asia/Tokyo")
        runner = LifecycleRunner(LifecycleQuery(), ZoneInfo("Asia/Tokyo"))
        with shop.reader() as con:
            table = runner.table(con)
            assert table is not None
            frame = table.execute()
        got = {r.user_id: (r.stage, pd.Timestamp(r.since).date()) for r in frame.itertuples()}
        assert got == STAGES


class TestTransitionLog:
    @pytest.fixture
    def stores(self, tmp_path: Path, database_url: str) -> tuple[Warehouse, Database]:
        shop = build_shop(tmp_path / "wh")
        database = Database(database_url)
        database.upgrade()
        return shop, database

    def test_the_first_run_records_every_customer_entering_their_stage(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        shop, database = stores
        run = run_lifecycle(shop, database, ZoneInfo("UTC"), LifecycleQuery(), save=True)
        assert (run.scored, run.transitions) == (8, 9)
        expected = {(user, None, stage, day) for user, (stage, day) in STAGES.items()}
        # u5 passed through at risk (2023-08-01 + 91 days) before churning.
        expected -= {("u5", None, "churned", date(2024, 1, 29))}
        expected |= {
            ("u5", None, "at_risk", date(2023, 10, 31)),
            ("u5", "at_risk", "churned", date(2024, 1, 29)),
        }
        with database.session() as session:
            moves = service.transitions(session)
            assert {(m.user_id, m.from_stage, m.to_stage, m.day) for m in moves} == expected
            assert service.stage_of(session, "u4") == ("at_risk", date(2024, 3, 15))

    def test_a_later_run_records_only_changes_and_never_skips_at_risk(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        shop, database = stores
        run_lifecycle(shop, database, ZoneInfo("UTC"), LifecycleQuery(), save=True)
        run = run_lifecycle(
            shop, database, ZoneInfo("UTC"), LifecycleQuery(as_of="2024-07-15"), save=True
        )
        with database.session() as session:
            entered = service.transitions(session, to_stage="at_risk", since=date(2024, 4, 1))
            got = {(m.user_id, m.from_stage, m.day) for m in entered}
            churned = service.transitions(session, to_stage="churned", since=date(2024, 4, 1))
        assert got == {
            ("u1", "loyal", date(2024, 6, 29)),
            ("u2", "new", date(2024, 6, 24)),
            ("u3", "reactivated", date(2024, 6, 19)),
            ("u6", "active", date(2024, 4, 6)),  # went on to churn; its at-risk entry is kept
            ("u7", "loyal", date(2024, 5, 2)),
            ("u8", "new", date(2024, 6, 30)),
        }
        assert {(m.user_id, m.from_stage, m.day) for m in churned} == {
            ("u4", "at_risk", date(2024, 6, 13)),
            ("u6", "at_risk", date(2024, 7, 5)),
        }
        assert run.transitions == 8

    def test_a_rerun_on_the_same_day_records_nothing(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        shop, database = stores
        run_lifecycle(shop, database, ZoneInfo("UTC"), LifecycleQuery(), save=True)
        again = run_lifecycle(shop, database, ZoneInfo("UTC"), LifecycleQuery(), save=True)
        assert again.transitions == 0


class TestModelThresholds:
    def test_silence_solves_p_alive_equal_to_the_level(self) -> None:
        rng = np.random.default_rng(7)
        x = rng.integers(1, 12, 200)
        t_x = rng.uniform(1, 50, 200)
        model = BGNBD().fit(
            np.r_[x, np.zeros(50)], np.r_[t_x, np.zeros(50)], np.r_[t_x + 20, np.full(50, 30.0)]
        )
        params = model.params_.as_dict()
        silence = silence_until_p_alive(params, x, t_x, 0.3)
        p = model.conditional_probability_alive(x, t_x, t_x + silence)
        assert np.allclose(p[silence > 0], 0.3, atol=1e-9)

    def test_one_time_buyers_never_lose_p_alive(self) -> None:
        params = {"r": 0.25, "alpha": 4.4, "a": 0.79, "b": 2.4}
        assert np.isinf(silence_until_p_alive(params, np.array([0]), np.array([0.0]), 0.5)).all()

    def test_model_mode_gives_each_customer_their_own_thresholds(self, tmp_path: Path) -> None:
        shop = build_shop(tmp_path)
        run = run_lifecycle(shop, None, ZoneInfo("UTC"), LifecycleQuery(mode="model"), save=True)
        with shop.reader() as con:
            frame = con.table("scores").filter(lambda s: s.model == "lifecycle").execute()
        import json

        values = {r.user_id: json.loads(r.values) for r in frame.itertuples()}
        assert run.result.customers == 8 and len(values) == 8
        # u7 buys every month: at risk sooner than the 90 fixed days, churned before 180.
        assert values["u7"]["at_risk_days"] < 90 and values["u7"]["churn_days"] <= 180
        assert all(v["churn_days"] > v["at_risk_days"] for v in values.values())
        assert all(0 <= float(v["p_alive"]) <= 1 for v in values.values())


def test_settings_zone_is_respected(tmp_path: Path) -> None:
    assert Settings(home=tmp_path, timezone="Asia/Tokyo").timezone == "Asia/Tokyo"
