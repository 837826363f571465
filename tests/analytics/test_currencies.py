"""Money is never summed over currencies: KPIs, LTV, retention value, RFM and CAC per currency.

Two shops share a warehouse (the README's mistake): Online-Retail-like orders in pounds and
CDNOW-like orders in dollars, with colliding customer ids (a is in both). Every money figure is
checked against an independent pandas computation over one currency's orders.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tenure.analytics.base import InvalidQuery
from tenure.analytics.kpis import AcquisitionQuery, AcquisitionRunner, KpiQuery, KpiRunner
from tenure.analytics.kpis.router import router as kpis_router
from tenure.analytics.retention import RetentionQuery, RetentionRunner
from tenure.analytics.retention.router import router as retention_router
from tenure.api import errors
from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping
from tenure.segments.rfm import RfmQuery, RfmRunner
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write
from tests.serving import run_cli

ZONE = "Europe/London"  # GMT until 31 March 2024: every order's local day is its UTC day
RETAIL = """order_id,user_id,ts,amount,status,channel
            g1,a,2024-01-05T10:00:00Z,100,paid,ads
            g2,b,2024-01-20T10:00:00Z,50,paid,email
            g3,a,2024-02-10T10:00:00Z,60,paid,
            rg3,a,2024-02-12T10:00:00Z,-20,refunded,
            g4,,2024-02-15T10:00:00Z,30,paid,"""
CDNOW = """order_id,user_id,ts,amount,status,channel
           u1,a,2024-01-06T10:00:00Z,30,paid,ads
           u2,c,2024-02-01T10:00:00Z,20,paid,ads
           u3,c,2024-02-03T10:00:00Z,25,paid,
           u4,d,2024-03-01T10:00:00Z,40,paid,social
           u5,d,2024-03-09T10:00:00Z,15,paid,
           u6,e,2024-03-10T10:00:00Z,10,paid,"""
# Spend is keyed by day and channel (a second shop's spend on the same day would replace it).
SPEND = """day,channel,amount,currency
           2024-01-01,ads,40,GBP
           2024-01-02,ads,90,USD
           2024-02-01,social,10,USD"""


def load_two_shops(tmp_path: Path, **settings: Any) -> Warehouse:
    """Both shops, and spend in both currencies, in one warehouse."""
    warehouse = Warehouse(Settings(home=tmp_path / "home", timezone=ZONE, **settings))
    warehouse.init()
    for name, text, kind, currency in (
        ("retail.csv", RETAIL, "orders", "GBP"),
        ("cdnow.csv", CDNOW, "orders", "USD"),
        ("spend.csv", SPEND, "spend", None),
    ):
        import_files(
            kind,
            [str(write(tmp_path / name, text))],
            settings=warehouse.settings,
            warehouse=warehouse,
            mapping=Mapping(currency=currency),
        )
    return warehouse


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return load_two_shops(tmp_path_factory.mktemp("two-shops"))


def orders_frame() -> pd.DataFrame:
    """The orders as pandas reads the files, with their currency: the reference."""
    frames = []
    for text, currency in ((RETAIL, "GBP"), (CDNOW, "USD")):
        lines = "\n".join(line.strip() for line in text.splitlines())
        frame = pd.read_csv(io.StringIO(lines), dtype={"user_id": "string"})
        frames.append(frame.assign(currency=currency))
    out = pd.concat(frames, ignore_index=True)
    out["month"] = pd.to_datetime(out.ts).dt.tz_convert(ZONE).dt.tz_localize(None)
    out["month"] = out.month.dt.to_period("M").dt.start_time.dt.date
    return out


def kpis(warehouse: Warehouse, **query: Any) -> Any:
    with warehouse.reader() as con:
        return KpiRunner(KpiQuery.model_validate(query), warehouse.settings.zone)(con)


def by_period(result: Any, metric: str) -> dict[date, Any]:
    return {p.period: p.value for p in result.get(metric).points}


class TestKpisPerCurrency:
    @pytest.mark.parametrize("currency", ["GBP", "USD"])
    def test_revenue_orders_and_aov_are_those_of_one_currency(
        self, shops: Warehouse, currency: str
    ) -> None:
        result = kpis(shops, period="month", currency=currency)
        mine = orders_frame()
        mine = mine[mine.currency == currency]
        paid = mine[mine.status == "paid"]
        revenue = mine.groupby("month").amount.sum()
        orders = paid.groupby("month").order_id.count()
        months = [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
        assert by_period(result, "revenue") == {m: float(revenue.get(m, 0)) for m in months}
        assert by_period(result, "orders") == {m: int(orders.get(m, 0)) for m in months}
        assert result.totals.revenue == float(mine.amount.sum())
        assert result.totals.aov == round(paid.amount.sum() / len(paid), 4)
        other = "USD" if currency == "GBP" else "GBP"
        others = orders_frame()
        assert result.currency == currency
        assert result.left_out_orders == {other: int((others.currency == other).sum())}
        assert result.get("revenue").currency == currency
        assert result.get("orders").currency is None  # a count, not money

    def test_the_default_is_the_currency_of_most_orders(self, shops: Warehouse) -> None:
        default = kpis(shops, period="month")
        assert (default.currency, default.left_out_orders) == ("USD", {"GBP": 5})
        assert default.totals == kpis(shops, period="month", currency="usd").totals

    def test_user_counts_still_count_everyone(self, shops: Warehouse) -> None:
        result = kpis(shops, period="month", currency="GBP", metrics=["active_users"])
        # a, b (January); a, c (February); d, e (March): both shops' customers are active.
        assert list(by_period(result, "active_users").values()) == [2, 2, 2]

    def test_ltv_cohorts_are_per_currency(self, shops: Warehouse) -> None:
        result = kpis(shops, period="month", currency="GBP", ltv_months=2)
        # a and b first bought in pounds in January: 150 then 60 - 20 in February.
        assert [(c.cohort, c.customers, c.ltv) for c in result.ltv] == [
            (date(2024, 1, 1), 2, [75.0, 95.0, 95.0])
        ]

    def test_a_currency_the_orders_are_not_in_is_a_query_error(self, shops: Warehouse) -> None:
        with pytest.raises(InvalidQuery) as caught:
            kpis(shops, currency="EUR")
        assert "GBP" in str(caught.value.data) and "USD" in str(caught.value.data)

    def test_a_one_currency_shop_names_its_currency_and_leaves_nothing_out(
        self, tmp_path: Path
    ) -> None:
        warehouse = Warehouse(Settings(home=tmp_path / "one", timezone=ZONE))
        warehouse.init()
        path = write(tmp_path / "retail.csv", RETAIL)
        import_files(
            "orders",
            [str(path)],
            settings=warehouse.settings,
            warehouse=warehouse,
            mapping=Mapping(currency="GBP"),
        )
        result = kpis(warehouse, period="month")
        assert (result.currency, result.left_out_orders, result.totals.revenue) == (
            "GBP",
            {},
            220.0,
        )


class TestRetentionValue:
    @pytest.mark.parametrize("currency", ["GBP", "USD"])
    def test_monthly_cohort_revenue_is_in_one_currency(
        self, shops: Warehouse, currency: str
    ) -> None:
        with shops.reader() as con:
            query = RetentionQuery(period="month", periods=2, currency=currency)
            result = RetentionRunner(query, shops.settings.zone)(con)
        frame = orders_frame()
        customers = frame[frame.user_id.notna()]
        paid = customers[customers.status == "paid"]
        cohort = paid.groupby("user_id").month.min().rename("cohort")  # over every currency
        mine = customers[customers.currency == currency].join(cohort, on="user_id")
        pairs = zip(mine.month, mine.cohort, strict=True)
        mine["offset"] = [(m.year - c.year) * 12 + m.month - c.month for m, c in pairs]
        cells = mine.groupby(["cohort", "offset"]).amount.sum()
        expected = {
            row.cohort: [float(cells.get((row.cohort, k), 0.0)) for k in range(len(row.revenue))]
            for row in result.cohorts
        }
        assert {row.cohort: row.revenue for row in result.cohorts} == expected
        assert sum(sum(r.revenue) for r in result.cohorts) == float(mine.amount.sum())
        assert result.currency == currency

    def test_weekly_value_from_the_rollups_is_per_currency_too(self, shops: Warehouse) -> None:
        with shops.reader() as con:
            result = RetentionRunner(RetentionQuery(currency="GBP"), shops.settings.zone)(con)
        # Guest order g4 has no customer; a's 60 - 20 and the January orders remain.
        assert sum(sum(r.revenue) for r in result.cohorts) == 190.0


class TestRfm:
    def test_monetary_is_in_the_currency_of_most_orders(self, shops: Warehouse) -> None:
        with shops.reader() as con:
            result = RfmRunner(RfmQuery(), shops.settings.zone)(con)
        usd = orders_frame().query("currency == 'USD'")
        assert (result.currency, result.left_out_orders) == ("USD", {"GBP": 5})
        assert result.customers == usd.user_id.nunique()
        assert round(sum(s.revenue for s in result.segments), 2) == float(usd.amount.sum())


class TestAcquisition:
    def test_cac_divides_spend_and_customers_of_the_same_currency(self, shops: Warehouse) -> None:
        rows = {}
        for currency in ("GBP", "USD"):
            with shops.reader() as con:
                query = AcquisitionQuery(currency=currency, horizons=(30,))
                result = AcquisitionRunner(query, shops.settings.zone)(con)
            rows[currency] = {
                r.channel: (r.spend, r.new_customers, r.cac)
                for r in [*result.channels, *([result.total] if result.total else [])]
            }
            rows[currency]["left out"] = result.left_out_spend
        assert rows == {
            # a (ads) and b (email) first bought in pounds; only ads has pound spend.
            "GBP": {
                "ads": (40.0, 1, 40.0),
                "email": (None, 1, None),
                "(all)": (40.0, 2, 20.0),
                "left out": {"USD": 100.0},
            },
            # a and c came by ads, d by social, e by none; 90 and 10 dollars of spend.
            "USD": {
                "(none)": (None, 1, None),
                "ads": (90.0, 2, 45.0),
                "social": (10.0, 1, 10.0),
                "(all)": (100.0, 4, 25.0),
                "left out": {"GBP": 40.0},
            },
        }


class TestHttp:
    @pytest.fixture
    def http(self, shops: Warehouse) -> Iterator[tuple[TestClient, dict[str, str]]]:
        database = Database(shops.settings.sqlalchemy_url)
        database.upgrade()
        app = FastAPI()
        app.state.settings, app.state.database, app.state.warehouse = (
            shops.settings,
            database,
            shops,
        )
        errors.install(app)
        app.include_router(kpis_router)
        app.include_router(retention_router)
        with database.session() as session:
            secret = create_key(session, "admin", ["admin"]).secret
        with TestClient(app) as client:
            yield client, {"authorization": f"Bearer {secret}"}

    def test_the_query_takes_a_currency_and_the_answer_names_it(
        self, http: tuple[TestClient, dict[str, str]]
    ) -> None:
        client, auth = http
        body = {"period": "month", "metrics": ["revenue", "orders"], "currency": "gbp"}
        kpis = client.post("/v1/analytics/kpis", json=body, headers=auth).json()
        assert (kpis["currency"], kpis["left_out_orders"]) == ("GBP", {"USD": 6})
        assert [(s["metric"], s["currency"]) for s in kpis["series"]] == [
            ("revenue", "GBP"),
            ("orders", None),
        ]
        cac = client.post("/v1/analytics/acquisition", json={"currency": "GBP"}, headers=auth)
        assert (cac.json()["currency"], cac.json()["left_out_spend"]) == ("GBP", {"USD": 100.0})
        retention = client.post(
            "/v1/analytics/retention", json={"period": "month"}, headers=auth
        ).json()
        assert (retention["currency"], retention["left_out_orders"]) == ("USD", {"GBP": 5})

    def test_a_currency_not_held_is_400_and_a_malformed_one_422(
        self, http: tuple[TestClient, dict[str, str]]
    ) -> None:
        client, auth = http
        missing = client.post("/v1/analytics/kpis", json={"currency": "EUR"}, headers=auth)
        assert (missing.status_code, missing.json()["code"]) == (400, "analytics_invalid_query")
        malformed = client.post("/v1/analytics/kpis", json={"currency": "EURO"}, headers=auth)
        assert malformed.status_code == 422


class TestRetentionCli:
    def test_value_retention_takes_a_currency_and_the_default_notes_the_orders_left_out(
        self, shops: Warehouse
    ) -> None:
        env = {"TENURE_TIMEZONE": ZONE}
        home = shops.settings.home
        args = ("retention", "--period", "month", "--periods", "2", "--value", "--format", "json")
        pounds = run_cli(home, *args, "--currency", "GBP", **env)
        assert pounds.returncode == 0, pounds.stderr
        frame = orders_frame()
        customers = frame[frame.user_id.notna()]
        cohort = customers[customers.status == "paid"].groupby("user_id").month.min()
        mine = customers[customers.currency == "GBP"].join(cohort.rename("cohort"), on="user_id")
        pairs = zip(mine.month, mine.cohort, strict=True)
        mine["offset"] = [(m.year - c.year) * 12 + m.month - c.month for m, c in pairs]
        cells = mine.groupby(["cohort", "offset"]).amount.sum()
        cohorts = json.loads(pounds.stdout)["cohorts"]
        assert {c["cohort"]: c["revenue"] for c in cohorts} == {
            c["cohort"]: [
                float(cells.get((date.fromisoformat(c["cohort"]), k), 0.0))
                for k in range(len(c["revenue"]))
            ]
            for c in cohorts
        }
        assert sum(sum(c["revenue"]) for c in cohorts) == 190.0
        assert "money figures are in GBP" in pounds.stderr and "6 in USD" in pounds.stderr

        default = run_cli(home, *args, **env)
        assert default.returncode == 0, default.stderr
        assert "money figures are in USD" in default.stderr
        assert "5 in GBP" in default.stderr
