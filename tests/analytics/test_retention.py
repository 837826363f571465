"""Retention: literal cohort triangles in an explicit zone, day-N three ways, real data vs pandas."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tenure.analytics.activity import Activity
from tenure.analytics.retention import RetentionQuery, RetentionResult, RetentionRunner
from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping, preset
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write

ORDERS = """order_id,user_id,ts,amount,channel
            1,u1,2024-01-01T02:00:00Z,10,email
            2,u1,2024-01-08T03:00:00Z,20,email
            3,u1,2024-01-22T03:00:00Z,5,email
            4,u2,2024-01-07T23:30:00Z,15,social
            5,u2,2024-01-09T01:00:00Z,5,social
            6,u2,2024-01-15T02:00:00Z,10,social
            7,u3,2024-01-03T05:00:00Z,30,email
            8,u4,2024-01-10T05:00:00Z,8,social
            9,u4,2024-01-11T05:00:00Z,4,social
            10,u4,2024-01-17T05:00:00Z,6,social
            11,,2024-01-12T05:00:00Z,99,"""


def load(tmp_path: Path, zone: str) -> Warehouse:
    settings = Settings(home=tmp_path / zone.replace("/", "_"), timezone=zone)
    warehouse = Warehouse(settings)
    warehouse.init()
    path = write(tmp_path / "orders.csv", ORDERS)
    import_files("orders", [str(path)], settings=settings, warehouse=warehouse)
    return warehouse


def run(warehouse: Warehouse, **query: object) -> RetentionResult:
    with warehouse.reader() as con:
        return RetentionRunner(RetentionQuery.model_validate(query), warehouse.settings.zone)(con)


def triangle(result: RetentionResult) -> dict[str, list[int]]:
    return {str(c.cohort): c.retained for c in result.cohorts}


class TestCohortTriangles:
    def test_weekly_triangle_in_the_shop_zone(self, tmp_path: Path) -> None:
        # In Shanghai (UTC+8) u2's first order, 2024-01-07 23:30 UTC, is Monday 2024-01-08.
        result = run(load(tmp_path, "Asia/Shanghai"), period="week", periods=4)
        assert result.observed_until == date(2024, 1, 22)
        assert triangle(result) == {"2024-01-01": [2, 1, 0, 1], "2024-01-08": [2, 2, 0]}
        assert [c.size for c in result.cohorts] == [2, 2]
        assert result.cohorts[0].rate == [1.0, 0.5, 0.0, 0.5]

    def test_the_same_data_in_utc_puts_u2_a_week_earlier(self, tmp_path: Path) -> None:
        result = run(load(tmp_path, "UTC"), period="week", periods=4)
        assert triangle(result) == {"2024-01-01": [3, 2, 1, 1], "2024-01-08": [1, 1, 0]}

    def test_guest_orders_never_make_a_cohort(self, tmp_path: Path) -> None:
        result = run(load(tmp_path, "Asia/Shanghai"), period="day", periods=0)
        assert sum(c.size for c in result.cohorts) == 4

    def test_value_retention_and_ltv(self, tmp_path: Path) -> None:
        result = run(load(tmp_path, "Asia/Shanghai"), period="week", periods=4)
        first, second = result.cohorts
        assert first.revenue == [40.0, 20.0, 0.0, 5.0]
        assert first.revenue_per_user == [20.0, 10.0, 0.0, 2.5]
        assert first.ltv == [20.0, 30.0, 30.0, 32.5]
        assert second.ltv == [16.0, 24.0, 24.0]

    def test_frequency_threshold_applies_to_every_period(self, tmp_path: Path) -> None:
        result = run(load(tmp_path, "Asia/Shanghai"), period="week", periods=4, min_occurrences=2)
        assert triangle(result) == {"2024-01-01": [0, 0, 0, 0], "2024-01-08": [2, 0, 0]}

    def test_recurring_start_puts_a_user_in_every_cohort_they_start(self, tmp_path: Path) -> None:
        result = run(
            load(tmp_path, "Asia/Shanghai"), period="week", periods=4, start_mode="recurring"
        )
        assert triangle(result) == {
            "2024-01-01": [2, 1, 0, 1],
            "2024-01-08": [3, 2, 1],
            "2024-01-15": [2, 0],
            "2024-01-22": [1],
        }

    def test_breakdown_by_acquisition_channel(self, tmp_path: Path) -> None:
        result = run(
            load(tmp_path, "Asia/Shanghai"),
            period="week",
            periods=4,
            breakdown="first_order_channel",
        )
        rows = {(c.segment, str(c.cohort)): c.retained for c in result.cohorts}
        assert rows == {
            ("email", "2024-01-01"): [2, 1, 0, 1],
            ("social", "2024-01-08"): [2, 2, 0],
        }


class TestDayN:
    def test_on_day_on_or_after_and_within(self, tmp_path: Path) -> None:
        result = run(load(tmp_path, "Asia/Shanghai"), period="week", periods=1, days=(1, 7, 14))
        table = {d.day: (d.eligible, d.on_day, d.on_or_after, d.within) for d in result.day_n}
        assert table == {1: (4, 2, 3, 2), 7: (4, 3, 3, 3), 14: (3, 0, 1, 2)}

    def test_no_day_n_columns_gives_the_triangle_alone(self, tmp_path: Path) -> None:
        # Found by fuzzing: `"days": []` answered 500 (max() of an empty sequence).
        result = run(load(tmp_path, "UTC"), period="week", periods=1, days=())
        assert result.day_n == [] and result.cohorts

    def test_day_numbers_past_ten_years_are_refused_by_the_query(self) -> None:
        # Found by fuzzing: day 2^63 answered 500.
        with pytest.raises(ValueError, match="3660"):
            RetentionQuery.model_validate({"days": [9223372036854775807]})

    def test_day_zero_is_refused(self, tmp_path: Path) -> None:
        from tenure.analytics.base import InvalidQuery

        with pytest.raises(InvalidQuery):
            run(load(tmp_path, "UTC"), days=(0,))


def test_return_can_be_a_named_event(tmp_path: Path) -> None:
    warehouse = load(tmp_path, "UTC")
    events = write(
        tmp_path / "events.csv",
        """user_id,event,ts
           u1,Product Viewed,2024-01-02T10:00:00Z
           u3,Product Viewed,2024-01-03T10:00:00Z
           u3,Product Viewed,2024-01-10T10:00:00Z
           u2,Signed Up,2024-01-16T10:00:00Z""",
    )
    import_files(
        "events",
        [str(events)],
        settings=warehouse.settings,
        warehouse=warehouse,
        mapping=Mapping(columns={"event": "name"}),
    )
    result = run(
        warehouse, period="week", periods=2, returning=Activity(kind="event", name="Product Viewed")
    )
    assert triangle(result) == {"2024-01-01": [2, 1, 0], "2024-01-08": [0, 0, 0]}
    anything = run(warehouse, period="week", periods=2, returning=Activity(kind="any_event"))
    assert triangle(anything) == {"2024-01-01": [2, 1, 1], "2024-01-08": [0, 0, 0]}


def _pandas_retention(
    files: list[Path], end: date, periods: int, days: tuple[int, ...]
) -> tuple[dict[str, list[int]], dict[int, tuple[int, int, int, int]]]:
    """The same questions answered independently with pandas on the raw CSVs."""
    raw = pd.concat([pd.read_csv(f, dtype={"InvoiceNo": str, "CustomerID": str}) for f in files])
    paid = raw[raw.CustomerID.notna() & ~raw.InvoiceNo.str.startswith("C")]
    paid = paid.assign(day=pd.to_datetime(paid.InvoiceDate).dt.date)[
        ["CustomerID", "day"]
    ].drop_duplicates()
    paid["week"] = paid.day.map(lambda d: d - timedelta(days=d.weekday()))
    first = paid.groupby("CustomerID").day.min().rename("first").reset_index()
    first["cohort"] = first["first"].map(lambda d: d - timedelta(days=d.weekday()))
    joined = paid.merge(first, on="CustomerID")
    joined["offset"] = (joined.week - joined.cohort).map(lambda t: t.days // 7)
    counts = joined.groupby(["cohort", "offset"]).CustomerID.nunique()
    end_week = end - timedelta(days=end.weekday())
    matrix = {}
    for cohort in sorted(first.cohort.unique()):
        observed = min(periods, (end_week - cohort).days // 7)
        matrix[str(cohort)] = [int(counts.get((cohort, p), 0)) for p in range(observed + 1)]
    joined["d"] = (joined.day - joined["first"]).map(lambda t: t.days)
    per_user = joined.groupby("CustomerID").d.apply(set)
    age = first.set_index("CustomerID")["first"].map(lambda d: (end - d).days)
    table = {}
    for n in days:
        eligible = age[age >= n].index
        ds = per_user.loc[eligible]
        table[n] = (
            len(eligible),
            int(sum(n in s for s in ds)),
            int(sum(any(x >= n for x in s) for s in ds)),
            int(sum(any(1 <= x <= n for x in s) for s in ds)),
        )
    return matrix, table


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
    result = run(warehouse, period="week", periods=12, days=(1, 7, 30))
    assert result.observed_until is not None
    matrix, table = _pandas_retention(files, result.observed_until, 12, (1, 7, 30))
    assert triangle(result) == matrix
    assert {d.day: (d.eligible, d.on_day, d.on_or_after, d.within) for d in result.day_n} == table
    week = next(c for c in result.cohorts if str(c.cohort) == "2010-12-06")
    assert (week.size, week.retained[:2]) == (341, [341, 63])


@pytest.mark.spark
def test_duckdb_and_spark_give_the_same_retention(tmp_path: Path, spark_session: object) -> None:
    path = write(tmp_path / "orders.csv", ORDERS)
    results = []
    for name, extra in (("duck", {}), ("spark", {"warehouse": "spark"})):
        settings = Settings(home=tmp_path / name, timezone="Asia/Shanghai", **extra)
        warehouse = Warehouse(settings)
        warehouse.init()
        import_files("orders", [str(path)], settings=settings, warehouse=warehouse)
        for query in (
            {"period": "week", "periods": 4, "days": (1, 7, 14)},
            {"period": "month", "periods": 2, "start_mode": "recurring", "breakdown": "channel"},
            {
                "period": "day",
                "periods": 10,
                "min_occurrences": 1,
                "breakdown": "first_order_channel",
            },
        ):
            results.append((name, run(warehouse, **query).model_dump()))
    duck = [r for n, r in results if n == "duck"]
    spark = [r for n, r in results if n == "spark"]
    assert duck == spark


def test_retention_over_http_needs_admin_and_answers(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tenure.api.app import create_app
    from tenure.apikeys.service import create_key
    from tenure.storage.database import Database

    warehouse = load(tmp_path, "Asia/Shanghai")
    settings = warehouse.settings.model_copy(update={"inbox_flush_seconds": 0})
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    with database.session() as session:
        admin = create_key(session, "a", ["admin"]).secret
        write = create_key(session, "w", ["write"]).secret
    client = TestClient(create_app(settings))
    body = {"period": "week", "periods": 4, "start": {"kind": "order"}}
    denied = client.post(
        "/v1/analytics/retention", json=body, headers={"authorization": f"Bearer {write}"}
    )
    assert denied.status_code == 403
    response = client.post(
        "/v1/analytics/retention", json=body, headers={"authorization": f"Bearer {admin}"}
    )
    assert response.status_code == 200
    assert {c["cohort"]: c["retained"] for c in response.json()["cohorts"]} == {
        "2024-01-01": [2, 1, 0, 1],
        "2024-01-08": [2, 2, 0],
    }
    bad = client.post(
        "/v1/analytics/retention",
        json={"period": "year"},
        headers={"authorization": f"Bearer {admin}"},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


def test_the_one_scan_mask_path_equals_the_row_join_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenure.cli.simulate import import_simulation
    from tenure.simulate import SimulationConfig, simulate_shop

    config = SimulationConfig(users=1500, days=200, start=date(2024, 1, 1), seed=3)
    simulate_shop(config, tmp_path / "sim")
    settings = Settings(home=tmp_path / "home", timezone="America/New_York")
    warehouse = Warehouse(settings)
    warehouse.init()
    import_simulation(tmp_path / "sim", settings, warehouse)
    queries: list[dict[str, object]] = [
        {"period": "week", "periods": 12, "days": (1, 7, 30)},
        {"period": "week", "periods": 20, "days": (2, 14, 62), "breakdown": "channel"},
        {
            "period": "day",
            "periods": 40,
            "start": {"kind": "any_event"},
            "returning": {"kind": "any_event"},
        },
        {"period": "week", "periods": 8, "start": {"kind": "any"}, "returning": {"kind": "any"}},
        {
            "period": "week",
            "periods": 6,
            "since": date(2024, 3, 1),
            "breakdown": "first_order_channel",
        },
    ]
    fused = [run(warehouse, **q) for q in queries]
    assert sum(c.size for c in fused[0].cohorts) > 500
    assert any(sum(c.retained[1:]) for c in fused[0].cohorts)
    monkeypatch.setattr(RetentionRunner, "_masks_answer", lambda self: False)
    joined = [run(warehouse, **q) for q in queries]
    for one, other in zip(fused, joined, strict=True):
        assert one.model_dump() == other.model_dump()
