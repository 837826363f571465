"""The time-split evaluation on the hand-made shop: who is scored, on what, and bad cut-offs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from tenure.recommend.errors import BadEvaluation, NoData
from tenure.recommend.evaluate import EvaluationConfig, evaluate
from tests.recommend.builders import EXCLUDE, build_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    wh = build_shop(tmp_path_factory.mktemp("evaluate"))
    with wh.reader() as con:
        yield con


def test_known_customers_are_scored_on_new_items_and_new_ones_apart(shop: BaseBackend) -> None:
    from zoneinfo import ZoneInfo

    result = evaluate(shop, ZoneInfo("UTC"), EXCLUDE, EvaluationConfig(days=14, k=5))
    # Cut 2024-03-06 10:00 (14 days before the last order). After it, known customers: u4
    # (o6: C2, B1, both new to them); u5, u6 and u8 are new (cold start).
    assert (result["cutoff"], result["window_end"]) == ("2024-03-06", "2024-03-20")
    assert result["users"] == 1 and result["cold_start"]["users"] == 3
    models = {m["model"]: m for m in result["models"]}
    assert set(models) == {
        "popular_all_time",
        "popular",
        "together",
        "covisit",
        "als",
        "bpr",
        "served",
    }
    assert all(0 <= m["recall"] <= 1 and m["users"] == 1 for m in models.values())


def test_bad_cutoffs_and_models_are_explained(shop: BaseBackend) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("UTC")
    with pytest.raises(BadEvaluation) as early:
        evaluate(shop, zone, EXCLUDE, EvaluationConfig(cutoff=date(2020, 1, 1)))
    assert early.value.code == "recommend_no_training_data"
    with pytest.raises(BadEvaluation) as late:
        evaluate(shop, zone, EXCLUDE, EvaluationConfig(days=3))
    assert late.value.code == "recommend_no_test_purchases"
    with pytest.raises(BadEvaluation) as unknown:
        evaluate(shop, zone, EXCLUDE, EvaluationConfig(days=14, models=("magic",)))
    assert unknown.value.code == "recommend_unknown_model"


def test_an_empty_warehouse_has_nothing_to_evaluate(tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    from tenure.config import Settings
    from tenure.storage.warehouse import Warehouse

    wh = Warehouse(Settings(home=tmp_path))
    wh.init()
    with wh.reader() as con, pytest.raises(NoData):
        evaluate(con, ZoneInfo("UTC"))
