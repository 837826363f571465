"""KPIs: literal monthly figures in an explicit zone, lifecycle counts, guests, real data vs pandas."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tenure.analytics.base import InvalidQuery
from tenure.analytics.kpis import KpiQuery, KpiResult, KpiRunner
from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping, preset
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write

ZONE = "Asia/Tokyo"  # UTC+9, no DST: 23:30 UTC is 08:30 the next morning

# Order 3 is 2024-01-31 23:30 UTC: February in Tokyo. Order 7 is cancelled and never counts.
# r5 refunds 20 of order 5; r10 refunds 5 of guest order 10.
ORDERS = """order_id,user_id,ts,amount,status,channel
            1,a,2024-01-05T10:00:00Z,100,paid,ads
            2,a,2024-01-20T10:00:00Z,50,paid,
            3,b,2024-01-31T23:30:00Z,40,paid,email
            4,,2024-01-15T10:00:00Z,30,paid,
            5,a,2024-02-10T10:00:00Z,60,paid,
            r5,a,2024-02-12T10:00:00Z,-20,refunded,
            7,c,2024-02-14T10:00:00Z,25,cancelled,
            8,c,2024-03-03T10:00:00Z,80,paid,ads
            9,b,2024-04-02T10:00:00Z,10,paid,
            10,,2024-03-20T10:00:00Z,20,paid,
            r10,,2024-03-21T10:00:00Z,-5,refunded,"""

# d only browses; anon-1 and anon-2 never log in.
EVENTS = """event_id,user_id,anonymous_id,event,ts
            e1,d,,Product Viewed,2024-01-10T00:00:00Z
            e2,,anon-1,Product Viewed,2024-01-11T10:00:00Z
            e3,,anon-2,Product Viewed,2024-02-11T10:00:00Z
            e4,d,,Product Viewed,2024-03-05T10:00:00Z
            e5,a,,Product Viewed,2024-03-10T10:00:00Z
            e6,b,,Product Viewed,2024-02-01T00:00:00Z"""

JAN, FEB, MAR, APR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)


def load_shop(tmp_path: Path, zone: str = ZONE, **settings: Any) -> Warehouse:
    """The hand-made shop imported from CSV files into a fresh warehouse."""
    home = tmp_path / f"{zone.replace('/', '_')}-{settings.get('warehouse', 'duck')}"
    warehouse = Warehouse(Settings(home=home, timezone=zone, **settings))
    warehouse.init()
    orders = write(tmp_path / "orders.csv", ORDERS)
    events = write(tmp_path / "events.csv", EVENTS)
    for kind, path, mapping in (
        ("orders", orders, None),
        ("events", events, Mapping(columns={"event": "name"})),
    ):
        import_files(
            kind, [str(path)], settings=warehouse.settings, warehouse=warehouse, mapping=mapping
        )
    return warehouse


def run(warehouse: Warehouse, **query: Any) -> KpiResult:
    with warehouse.reader() as con:
        return KpiRunner(KpiQuery.model_validate(query), warehouse.settings.zone)(con)


def values(result: KpiResult, metric: str) -> dict[date, Any]:
    return {p.period: p.value for p in result.get(metric).points}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """Loaded once: the tests only read it."""
    return load_shop(tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
def monthly(shop: Warehouse) -> KpiResult:
    return run(shop, period="month")


class TestCommerce:
    def test_orders_revenue_and_buyers_per_month_in_the_shop_zone(self, monthly: KpiResult) -> None:
        assert (monthly.since, monthly.until) == (JAN, date(2024, 4, 2))
        assert values(monthly, "orders") == {JAN: 3, FEB: 2, MAR: 2, APR: 1}
        assert values(monthly, "gross_revenue") == {JAN: 180.0, FEB: 100.0, MAR: 100.0, APR: 10.0}
        assert values(monthly, "refunds") == {JAN: 0.0, FEB: 20.0, MAR: 5.0, APR: 0.0}
        assert values(monthly, "revenue") == {JAN: 180.0, FEB: 80.0, MAR: 95.0, APR: 10.0}
        assert values(monthly, "buyers") == {JAN: 1, FEB: 2, MAR: 1, APR: 1}

    def test_ratios_per_month(self, monthly: KpiResult) -> None:
        assert values(monthly, "aov") == {JAN: 60.0, FEB: 50.0, MAR: 50.0, APR: 10.0}
        assert values(monthly, "purchase_frequency") == {JAN: 2.0, FEB: 1.0, MAR: 1.0, APR: 1.0}
        assert values(monthly, "repurchase_rate") == {JAN: 1.0, FEB: 0.0, MAR: 0.0, APR: 0.0}
        assert values(monthly, "refund_rate") == {JAN: 0.0, FEB: 0.2, MAR: 0.05, APR: 0.0}

    def test_guest_orders_count_in_orders_and_revenue_but_never_as_buyers(
        self, monthly: KpiResult
    ) -> None:
        assert values(monthly, "guest_orders") == {JAN: 1, FEB: 0, MAR: 1, APR: 0}
        totals = monthly.totals
        assert (totals.orders, totals.guest_orders, totals.buyers) == (8, 2, 3)
        assert (totals.gross_revenue, totals.refunds, totals.revenue) == (390.0, 25.0, 365.0)
        assert (totals.aov, totals.purchase_frequency) == (48.75, 2.0)
        # a (3 orders) and b (2) repurchased in the window; c bought once.
        assert (totals.repeat_buyers, totals.repurchase_rate) == (2, 0.6667)
        assert totals.refund_rate == 0.0641

    def test_visitors_include_anonymous_ids_and_give_conversion(self, monthly: KpiResult) -> None:
        assert values(monthly, "visitors") == {JAN: 2, FEB: 2, MAR: 2, APR: 0}
        assert values(monthly, "conversion") == {JAN: 0.5, FEB: 1.0, MAR: 0.5, APR: None}
        assert (monthly.totals.visitors, monthly.totals.conversion) == (5, 0.6)

    def test_a_purchase_at_2330_utc_belongs_to_the_next_local_day(self, tmp_path: Path) -> None:
        utc = run(load_shop(tmp_path, "UTC"), period="month", metrics=("orders", "buyers"))
        assert values(utc, "orders") == {JAN: 4, FEB: 1, MAR: 2, APR: 1}
        assert values(utc, "buyers") == {JAN: 2, FEB: 1, MAR: 1, APR: 1}

    def test_weeks_start_on_monday(self, shop: Warehouse) -> None:
        weekly = run(shop, period="week", metrics=("orders",), until=date(2024, 2, 11))
        orders = values(weekly, "orders")
        assert list(orders)[:2] == [date(2024, 1, 1), date(2024, 1, 8)]
        assert orders[date(2024, 1, 29)] == 1  # order 3, Thursday 1 February in Tokyo
        assert orders[date(2024, 2, 5)] == 1 and weekly.get("orders").points[-1].partial is False


class TestUsers:
    def test_active_new_returning_resurrected_and_dormant(self, monthly: KpiResult) -> None:
        assert values(monthly, "active_users") == {JAN: 2, FEB: 2, MAR: 3, APR: 1}
        assert values(monthly, "new_users") == {JAN: 2, FEB: 1, MAR: 1, APR: 0}
        assert values(monthly, "returning_users") == {JAN: 0, FEB: 1, MAR: 1, APR: 0}
        # d browsed in January and came back in March; b bought in February and April.
        assert values(monthly, "resurrected_users") == {JAN: 0, FEB: 0, MAR: 1, APR: 1}
        assert values(monthly, "dormant_users") == {JAN: 0, FEB: 1, MAR: 1, APR: 3}
        assert (monthly.totals.active_users, monthly.totals.new_users) == (4, 4)

    def test_mean_dau_and_stickiness(self, monthly: KpiResult) -> None:
        # January: a on the 5th and 20th, d on the 10th = 3 user-days over 31 days.
        assert values(monthly, "dau")[JAN] == round(3 / 31, 4)
        assert values(monthly, "stickiness")[JAN] == round(3 / 31 / 2, 4)  # DAU/MAU
        # April is observed for 2 days only, with one user-day.
        assert values(monthly, "dau")[APR] == 0.5
        assert values(monthly, "stickiness")[APR] == 0.5
        assert monthly.totals.dau == round(9 / 93, 4)

    def test_a_refund_alone_is_not_activity(self, shop: Warehouse) -> None:
        # a's refund on 12 February adds no active day: a is active on the 10th only.
        daily = run(shop, period="day", since=date(2024, 2, 10), until=date(2024, 2, 12))
        assert list(values(daily, "active_users").values()) == [1, 0, 0]


class TestPeriodOverPeriod:
    def test_each_point_carries_the_previous_value_and_the_change(self, monthly: KpiResult) -> None:
        jan, feb = monthly.get("orders").points[:2]
        assert (jan.previous, jan.change, jan.change_rate) == (None, None, None)
        assert (feb.value, feb.previous, feb.change, feb.change_rate) == (2, 3, -1, -0.3333)

    def test_history_before_since_gives_the_first_point_its_previous_value(
        self, shop: Warehouse
    ) -> None:
        result = run(shop, period="month", since=date(2024, 2, 15), until=date(2024, 3, 31))
        orders = result.get("orders").points
        assert [p.period for p in orders] == [FEB, MAR]  # the window is whole periods
        assert (orders[0].value, orders[0].previous) == (2, 3)
        assert values(result, "returning_users") == {FEB: 1, MAR: 1}
        assert not orders[-1].partial

    def test_a_later_window_sees_the_same_periods_as_the_whole_history(
        self, shop: Warehouse, monthly: KpiResult
    ) -> None:
        later = run(shop, period="month", since=date(2024, 3, 10))
        for series in later.series:
            whole = {p.period: p for p in monthly.get(series.metric).points}
            assert [p.model_dump() for p in series.points] == [
                whole[p.period].model_dump() for p in series.points
            ], series.metric
        # March's previous dormant count is February's: d, who left after January.
        assert later.get("dormant_users").points[0].previous == 1

    def test_the_last_period_is_partial_when_until_cuts_it(self, monthly: KpiResult) -> None:
        assert [p.partial for p in monthly.get("revenue").points] == [False, False, False, True]

    def test_since_after_until_is_refused(self, shop: Warehouse) -> None:
        with pytest.raises(InvalidQuery):
            run(shop, since=date(2024, 3, 1), until=date(2024, 2, 1))

    def test_an_empty_warehouse_gives_empty_series(self, warehouse: Warehouse) -> None:
        result = run(warehouse, period="month")
        assert (result.series, result.ltv, result.totals.orders) == ([], [], 0)


class TestCohortLtv:
    def test_cumulative_net_revenue_per_customer_by_months_since_first_order(
        self, monthly: KpiResult
    ) -> None:
        table = {c.cohort: (c.customers, c.revenue, c.ltv) for c in monthly.ltv}
        assert table == {
            JAN: (1, [150.0, 40.0, 0.0, 0.0], [150.0, 190.0, 190.0, 190.0]),
            FEB: (1, [40.0, 0.0, 10.0], [40.0, 40.0, 50.0]),
            MAR: (1, [80.0, 0.0], [80.0, 80.0]),
        }


def _pandas_kpis(files: list[Path]) -> tuple[pd.DataFrame, dict[str, float]]:
    """Monthly buyers, orders, revenue and repurchase rate, computed independently with pandas."""
    raw = pd.concat([pd.read_csv(f, dtype={"InvoiceNo": str, "CustomerID": str}) for f in files])
    raw["month"] = raw.InvoiceDate.str[:7]  # the file's times are London wall-clock times
    raw["amount"] = raw.Quantity * raw.UnitPrice
    paid = raw[~raw.InvoiceNo.str.startswith("C")]
    customers = paid[paid.CustomerID.notna()]
    per_month = customers.groupby(["month", "CustomerID"]).InvoiceNo.nunique().reset_index()
    frame = pd.DataFrame(
        {
            "orders": paid.groupby("month").InvoiceNo.nunique(),
            "revenue": raw.groupby("month").amount.sum().round(2),
            "buyers": per_month.groupby("month").CustomerID.nunique(),
            "repeat": per_month[per_month.InvoiceNo >= 2].groupby("month").CustomerID.nunique(),
        }
    )
    frame["repurchase_rate"] = (frame.repeat / frame.buyers).round(4)
    per_buyer = customers.groupby("CustomerID").InvoiceNo.nunique()
    window = {
        "buyers": len(per_buyer),
        "repurchase_rate": round(float((per_buyer >= 2).mean()), 4),
        "orders": paid.InvoiceNo.nunique(),
        "revenue": round(float(raw.amount.sum()), 2),
    }
    return frame, window


def test_online_retail_matches_an_independent_pandas_computation(
    tmp_path: Path, real_data: Path
) -> None:
    settings = Settings(home=tmp_path / "h", timezone="Europe/London")
    warehouse = Warehouse(settings)
    warehouse.init()
    files = sorted((real_data / "online_retail").glob("*.csv"))
    import_files(
        "orders",
        [str(f) for f in files],
        settings=settings,
        warehouse=warehouse,
        mapping=preset("online-retail", "orders"),
    )
    result = run(
        warehouse, period="month", metrics=("orders", "revenue", "buyers", "repurchase_rate")
    )
    expected, window = _pandas_kpis(files)
    ours = pd.DataFrame(
        {
            m: {str(p.period)[:7]: p.value for p in result.get(m).points}
            for m in ("orders", "revenue", "buyers", "repurchase_rate")
        }
    )
    assert list(ours.index) == list(expected.index)
    assert ours.orders.tolist() == expected.orders.tolist()
    assert ours.buyers.tolist() == expected.buyers.tolist()
    assert ours.repurchase_rate.tolist() == expected.repurchase_rate.tolist()
    assert ours.revenue.round(2).tolist() == pytest.approx(expected.revenue.tolist(), abs=0.01)
    totals = result.totals
    assert (totals.buyers, totals.orders, totals.repurchase_rate) == (
        window["buyers"],
        window["orders"],
        window["repurchase_rate"],
    )
    assert totals.revenue == pytest.approx(window["revenue"], abs=0.01)
    assert (totals.buyers, totals.repurchase_rate) == (4339, 0.6557)
