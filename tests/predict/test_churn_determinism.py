"""The churn evaluation gives the same figures every run, whatever order the rows were written in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from tenure.predict.churn.service import (
    ChurnConfig,
    Evaluation,
    feature_frame,
    order_days,
    run_evaluation,
)
from tenure.storage.warehouse import Warehouse
from tests.predict.churn_builders import NO_EVENTS, ZONE, bgnbd_shop, shop

CUSTOMERS, SEED = 400, 5
CONFIG = ChurnConfig(horizon_days=60)


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Warehouse]:
    """The same orders written twice: in order, and in reverse order."""
    root = tmp_path_factory.mktemp("order")
    forward = bgnbd_shop(root / "forward", CUSTOMERS, SEED)
    backward = bgnbd_shop(root / "backward", CUSTOMERS, SEED, reverse=True)
    return forward, backward


def evaluation(warehouse: Warehouse) -> Evaluation:
    zone = ZoneInfo(ZONE)
    with warehouse.reader() as con:
        first, last = order_days(con, zone)
        cutoff = last - timedelta(days=CONFIG.horizon_days)
        return run_evaluation(con, zone, CONFIG, cutoff, first, last)


def figures(result: Evaluation) -> dict[str, object]:
    """Every figure at full float precision (repr), the verdict and the training rounds."""
    return {
        "rankings": {k: repr(v) for k, v in result.rankings.items()},
        "ranker": result.comparison.ranker,
        "rounds": result.fitted.model.rounds_,
        "cutoffs": [str(d) for d in result.fitted.plan.cutoffs],
    }


def frame(warehouse: Warehouse, day: date = date(2024, 9, 1)) -> pd.DataFrame:
    with warehouse.reader() as con:
        return feature_frame(con, day, ZoneInfo(ZONE), 60)


# Three orders of one customer: floats 0.1 + 0.2 + 0.3 = 0.6000000000000001, decimals 0.6.
# o2 and o3 share a time; o3 (the higher id) is the last order, 0 days after o2.
SMALL = [
    ("o1", "a", "2024-01-05T02:00:00", "paid", 0.1, None),
    ("o3", "a", "2024-01-25T02:00:00", "paid", 0.3, None),
    ("o2", "a", "2024-01-25T02:00:00", "paid", 0.2, None),
    ("o4", "b", "2024-01-20T02:00:00", "paid", 10, None),
]


class TestOrderFreeFeatures:
    """Parallel scans hand rows to the aggregates in a different order from run to run: on
    CDNOW one customer in 23,570 got another revenue and gap_std_days in their last bits (8
    DuckDB threads against 1), enough to move a LightGBM bin. So every aggregate is exact."""

    @pytest.mark.parametrize("reverse", [False, True])
    def test_revenue_is_the_exact_sum_of_the_decimal_amounts(
        self, tmp_path: Path, reverse: bool
    ) -> None:
        rows = SMALL[::-1] if reverse else SMALL
        features = frame(shop(tmp_path, rows, NO_EVENTS), date(2024, 3, 1)).set_index("user_id")
        assert features.loc["a", "revenue"] == 0.6
        assert features.loc["a", "avg_order_value"] == 0.6 / 3

    def test_orders_at_the_same_time_are_taken_in_order_id_order(self, tmp_path: Path) -> None:
        features = frame(shop(tmp_path, SMALL, NO_EVENTS), date(2024, 3, 1)).set_index("user_id")
        assert features.loc["a", "last_gap_days"] == 0.0
        assert features.loc["a", "gap_max_days"] == 20.0
        assert features.loc["a", "gap_mean_days"] == 10.0
        assert features.loc["a", "gap_std_days"] == pytest.approx(np.std([20.0, 0.0], ddof=1))

    def test_features_are_the_same_with_one_and_with_many_engine_threads(
        self, shops: tuple[Warehouse, Warehouse]
    ) -> None:
        forward, _ = shops
        frames = []
        for threads in (1, 8):
            with forward.reader() as con:
                previous = con.raw_sql("SELECT current_setting('threads')").fetchone()[0]
                con.raw_sql(f"SET threads = {threads}")
                try:
                    frames.append(feature_frame(con, date(2024, 9, 1), ZoneInfo(ZONE), 60))
                finally:
                    con.raw_sql(f"SET threads = {previous}")
        pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)

    def test_features_do_not_depend_on_the_order_orders_were_written_in(
        self, shops: tuple[Warehouse, Warehouse]
    ) -> None:
        forward, backward = shops
        pd.testing.assert_frame_equal(frame(forward), frame(backward), check_exact=True)


class TestRepeatedEvaluation:
    def test_two_runs_give_identical_figures_to_the_last_bit(
        self, shops: tuple[Warehouse, Warehouse]
    ) -> None:
        forward, backward = shops
        first = evaluation(forward)
        again = evaluation(forward)
        assert figures(again) == figures(first)
        np.testing.assert_array_equal(
            again.fitted.model.predict_proba(first.test),
            first.fitted.model.predict_proba(first.test),
        )
        assert figures(evaluation(backward)) == figures(first)
        assert again.as_dict() == first.as_dict()


SCRIPT = """
import json, sys
from pathlib import Path
from tenure.config import Settings
from tenure.storage.warehouse import Warehouse
from tests.predict.churn_builders import ZONE
from tests.predict.test_churn_determinism import evaluation, figures
warehouse = Warehouse(Settings(home=Path(sys.argv[1]), timezone=ZONE))
print(json.dumps(figures(evaluation(warehouse))))
"""


def test_a_fresh_process_gives_the_same_figures(shops: tuple[Warehouse, Warehouse]) -> None:
    forward, _ = shops
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "123", "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(forward.settings.home)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == figures(evaluation(forward))
