"""CLV and churn money features never sum amounts over currencies.

One warehouse holds a shop in pounds (most orders) and one in dollars whose customer ids collide
with the first's: the fits must be those of the pound orders alone.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping
from tenure.predict.churn.features import labelled_features
from tenure.predict.service import clv_scores, fit_clv
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write

UTC = ZoneInfo("UTC")


def shop_orders(prefix: str, customers: int, seed: int) -> str:
    """A CSV of 1 to 6 paid orders per customer over 2023 (ids c0, c1, … in every shop)."""
    rng = np.random.default_rng(seed)
    lines = ["order_id,user_id,ts,amount,status"]
    for c in range(customers):
        days = np.sort(rng.choice(365, size=int(rng.integers(1, 7)), replace=False))
        for n, day in enumerate(days):
            ts = np.datetime64("2023-01-01T10:00:00") + np.timedelta64(int(day), "D")
            amount = round(float(rng.gamma(4.0, 10.0)), 2)
            lines.append(f"{prefix}{c}-{n},c{c},{ts}Z,{amount},paid")
    return "\n".join(lines)


POUNDS = shop_orders("g", 150, seed=1)
DOLLARS = shop_orders("u", 60, seed=2)


def warehouse_of(home: Path, *shops: tuple[str, str]) -> Warehouse:
    warehouse = Warehouse(Settings(home=home))
    warehouse.init()
    for n, (text, currency) in enumerate(shops):
        import_files(
            "orders",
            [str(write(home.parent / f"{home.name}-{n}.csv", text))],
            settings=warehouse.settings,
            warehouse=warehouse,
            mapping=Mapping(currency=currency),
        )
    return warehouse


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return warehouse_of(
        tmp_path_factory.mktemp("mixed") / "home", (POUNDS, "GBP"), (DOLLARS, "USD")
    )


@pytest.fixture(scope="module")
def pounds(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return warehouse_of(tmp_path_factory.mktemp("pounds") / "home", (POUNDS, "GBP"))


class TestClvPerCurrency:
    def test_scores_are_fitted_on_and_labelled_with_the_currency_of_most_orders(
        self, mixed: Warehouse, pounds: Warehouse
    ) -> None:
        with mixed.reader() as con:
            version, values, fits = clv_scores(con, UTC)
        with pounds.reader() as con:
            alone = clv_scores(con, UTC)
        assert set(values.currency) == {"GBP"}  # not TENURE_CURRENCY's default, USD
        assert (version, fits) == alone[0::2]
        assert values.equals(alone[1])

    def test_an_explicit_currency_fits_that_currency_s_orders(self, mixed: Warehouse) -> None:
        with mixed.reader() as con:
            _, values, _ = clv_scores(con, UTC, "usd")
            fitted = fit_clv(con, "bgnbd", UTC, currency="USD")
        assert set(values.currency) == {"USD"}
        assert (len(values), fitted["customers"], fitted["currency"]) == (60, 60, "USD")

    def test_a_model_fit_is_that_of_the_default_currency_alone(
        self, mixed: Warehouse, pounds: Warehouse
    ) -> None:
        with mixed.reader() as con:
            both = fit_clv(con, "gammagamma", UTC)
        with pounds.reader() as con:
            alone = fit_clv(con, "gammagamma", UTC)
        assert both == alone
        assert both["currency"] == "GBP"


class TestChurnMoneyFeatures:
    def test_revenue_is_in_one_currency_and_orders_count_in_every_one(
        self, mixed: Warehouse, pounds: Warehouse
    ) -> None:
        day = np.datetime64("2023-12-31").item()
        with mixed.reader() as con:
            both = labelled_features(con, day, UTC, 30).execute().set_index("user_id")
        with pounds.reader() as con:
            alone = labelled_features(con, day, UTC, 30).execute().set_index("user_id")
        for column in ("revenue", "revenue_90d", "avg_order_value"):
            assert both.loc[alone.index, column].equals(alone[column]), column
        in_dollars = [line.split(",")[1] for line in DOLLARS.splitlines()[1:]]
        c0 = in_dollars.count("c0")
        assert both.loc["c0", "orders"] == alone.loc["c0", "orders"] + c0
