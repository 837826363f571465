"""On the simulator, a campaign's measured lift recovers its true, known effect.

The simulator treats half the eligible customers on 1 July 2024 and raises each treated
customer's purchase rate by a known, stage-dependent factor for 28 days; its truth file holds
every customer's expected incremental orders. Entering the same customers into a campaign
(treated → treatment, the rest → holdout) and reading `results` must give an interval for the
incremental orders per treated customer that contains the true mean.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from tenure.campaigns.results import results
from tenure.cli.simulate import import_simulation
from tenure.config import Settings
from tenure.simulate import SimulationConfig, simulate_shop
from tenure.simulate.config import CampaignSpec
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import enter_treated

DAY = datetime(2024, 7, 1, tzinfo=UTC)
SPEC = CampaignSpec(day=date(2024, 7, 1), treated_share=0.5, duration_days=28, base_lift=1.0)
CONFIG = replace(SimulationConfig(users=8000, days=240, seed=5, chunk_users=4000), campaign=SPEC)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, pd.DataFrame]:
    root = tmp_path_factory.mktemp("truth")
    simulate_shop(CONFIG, root / "sim")
    settings = Settings(home=root / "home")
    import_simulation(root / "sim", settings, Warehouse(settings))
    truth = pd.read_parquet(root / "sim" / "truth" / "campaign_truth.parquet")
    return settings, truth[truth["eligible"]].reset_index(drop=True)


def test_the_measured_incremental_orders_contain_the_true_effect(
    shop: tuple[Settings, pd.DataFrame],
) -> None:
    settings, eligible = shop
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    enter_treated(database, "summer", eligible, DAY, SPEC.duration_days)

    found = results(database, Warehouse(settings), "summer", datetime(2024, 9, 1, tzinfo=UTC))

    treated = eligible[eligible["treated"]]
    true_per_user = float(treated["expected_incremental_orders"].mean())
    lift = next(x for x in found.lifts if x.against == "holdout" and x.metric == "orders_per_user")
    assert lift.ci_low is not None and lift.ci_high is not None
    assert lift.ci_low <= true_per_user <= lift.ci_high, (lift, true_per_user)
    assert lift.ci_low > 0, "a lift this large must be detected"
    assert found.incremental_orders == pytest.approx(lift.difference * len(treated))
