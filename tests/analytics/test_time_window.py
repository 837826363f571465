"""Analytics survive whatever is already stored: rows dated 0001 or 9999, written straight into the
warehouse (around ingestion), are hidden from every reader, so each runner answers quickly and
exactly as it does without them; `tenure status` counts them."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from ibis.backends import BaseBackend

from tenure.analytics.kpis import AcquisitionQuery, AcquisitionRunner, KpiQuery, KpiRunner
from tenure.analytics.retention.query import RetentionQuery
from tenure.analytics.retention.runner import RetentionRunner
from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping
from tenure.ingest.tracking.lines import from_rows
from tenure.segments.lifecycle import LifecycleQuery, LifecycleRunner
from tenure.segments.rfm import RfmQuery, RfmRunner
from tenure.storage.plausible import excluded_rows
from tenure.storage.warehouse import Warehouse
from tenure.storage.writers import WarehouseWriter
from tests.analytics.test_kpis import EVENTS, ORDERS
from tests.analytics.test_kpis_acquisition import SPEND
from tests.ingest.builders import write

ZONE = ZoneInfo("Asia/Tokyo")
FIRST = datetime(1, 1, 1, tzinfo=UTC)
LAST = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
Answer = Callable[[BaseBackend], Any]
ANSWERS: dict[str, Answer] = {
    "kpis by day": lambda con: KpiRunner(KpiQuery(period="day"), ZONE)(con),
    "kpis by month": lambda con: KpiRunner(KpiQuery(period="month"), ZONE)(con),
    "retention": lambda con: RetentionRunner(RetentionQuery(period="week"), ZONE)(con),
    "retention by day": lambda con: RetentionRunner(RetentionQuery(period="day"), ZONE)(con),
    "rfm": lambda con: RfmRunner(RfmQuery(), ZONE)(con),
    "lifecycle": lambda con: LifecycleRunner(LifecycleQuery(), ZONE)(con),
    "acquisition": lambda con: AcquisitionRunner(AcquisitionQuery(period="day"), ZONE)(con),
}


def load_shop(home: Path, files: Path, **settings: Any) -> Warehouse:
    """The hand-made KPI shop (orders, events, spend) imported into a fresh warehouse."""
    warehouse = Warehouse(Settings(home=home, timezone=ZONE.key, **settings))
    warehouse.init()
    for kind, text, mapping in (
        ("orders", ORDERS, None),
        ("events", EVENTS, Mapping(columns={"event": "name"})),
        ("spend", SPEND, None),
    ):
        path = write(files / f"{kind}.csv", text)
        import_files(
            kind, [str(path)], settings=warehouse.settings, warehouse=warehouse, mapping=mapping
        )
    return warehouse


def write_extremes(writer: WarehouseWriter) -> None:
    """Rows at both ends of the calendar, written around ingestion and its checks."""
    order = {"status": "paid", "amount": Decimal(10), "currency": "USD"}
    writer.upsert(
        "orders",
        from_rows(
            "orders",
            [
                {"order_id": "x-first", "user_id": "a", "ts": FIRST, **order},
                {"order_id": "x-last", "user_id": "a", "ts": LAST, **order},
                {"order_id": "x-guest", "user_id": None, "ts": LAST, **order},
            ],
        ),
    )
    event = {"user_id": "a", "name": "Product Viewed", "properties": "{}", "received_at": LAST}
    writer.insert_missing(
        "events",
        from_rows(
            "events",
            [
                {"event_id": "x1", "type": "track", "ts": FIRST, **event},
                {"event_id": "x2", "type": "page", "ts": LAST, **event},
                {"event_id": "x3", "type": "track", "ts": LAST, **event},
            ],
        ),
    )
    writer.merge("users", from_rows("users", [{"user_id": "a", "first_seen": FIRST}]))
    writer.merge("users", from_rows("users", [{"user_id": "b", "signup_at": LAST}]))
    spend = {"channel": "ads", "amount": Decimal(1000), "currency": "USD"}
    writer.upsert(
        "spend",
        from_rows("spend", [{"day": date(1, 1, 1), **spend}, {"day": date(9999, 12, 31), **spend}]),
    )


def _day(value: Any) -> date:
    return pd.Timestamp(value).date()


def answers(warehouse: Warehouse) -> dict[str, Any]:
    out = {}
    with warehouse.reader() as con:
        for name, answer in ANSWERS.items():
            started = time.perf_counter()
            out[name] = answer(con).model_dump()
            assert time.perf_counter() - started < 10, name
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("clean")
    return answers(load_shop(root / "home", root))


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    root = tmp_path_factory.mktemp("dirty")
    warehouse = load_shop(root / "home", root)
    with warehouse.writer() as writer:
        write_extremes(writer)
    return warehouse


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_extreme_rows_change_no_answer(name: str, clean: dict[str, Any], dirty: Warehouse) -> None:
    with dirty.reader() as con:
        started = time.perf_counter()
        got = ANSWERS[name](con).model_dump()
        assert time.perf_counter() - started < 10
    assert got == clean[name]


def test_the_answers_end_where_the_data_ends(dirty: Warehouse) -> None:
    with dirty.reader() as con:
        kpis = KpiRunner(KpiQuery(period="day"), ZONE)(con)
        retention = RetentionRunner(RetentionQuery(), ZONE)(con)
        rfm = RfmRunner(RfmQuery(), ZONE)(con)
    assert (kpis.since, kpis.until) == (date(2024, 1, 5), date(2024, 4, 2))
    assert retention.observed_until == date(2024, 4, 2)
    assert rfm.as_of == date(2024, 4, 2)


def test_explicit_bounds_at_the_ends_of_the_calendar_are_no_500(dirty: Warehouse) -> None:
    ends = {"since": date(1, 1, 1), "until": date(9999, 12, 31)}
    with dirty.reader() as con:
        for period in ("day", "week", "month"):
            kpis = KpiRunner(KpiQuery(period=period, **ends), ZONE)(con)
            assert kpis.since is not None and kpis.since.year >= 1989
            assert kpis.until is not None and kpis.until <= date.today() + timedelta(days=2)
        acquisition = AcquisitionRunner(AcquisitionQuery(period="month", **ends), ZONE)(con)
        assert acquisition.since is not None and acquisition.since.year >= 1989


def test_the_stored_rollups_leave_the_extreme_rows_out(dirty: Warehouse) -> None:
    with dirty.reader(raw=True) as con:
        days = con.table("activity_daily").day
        first, last = days.min().execute(), days.max().execute()
        assert (_day(first), _day(last)) == (date(2024, 1, 5), date(2024, 4, 2))
        firsts = con.table("user_first")
        assert _day(firsts.first_any.min().execute()) == date(2024, 1, 5)
        assert _day(firsts.last_any.max().execute()) == date(2024, 4, 2)


def test_status_counts_the_hidden_rows(dirty: Warehouse) -> None:
    with dirty.reader(raw=True) as con:
        counts = excluded_rows(con, dirty.window)
    assert counts == {"events": 3, "orders": 3, "spend": 2, "users": 2}


@pytest.mark.spark
def test_spark_hides_the_same_rows(dirty: Warehouse, tmp_path: Path, spark_session: object) -> None:
    spark = Warehouse(Settings(home=tmp_path / "spark", timezone=ZONE.key, warehouse="spark"))
    with dirty.reader(raw=True) as con:
        tables = {n: con.table(n).to_pyarrow() for n in ("orders", "events", "users", "spend")}
    with spark.writer() as writer:
        for name, rows in tables.items():
            writer.upsert(name, rows)
    query = {"period": "week", "since": "2024-01-20", "until": "2024-03-06"}
    picked = {
        "kpis": lambda con: KpiRunner(KpiQuery.model_validate(query), ZONE)(con),
        "default kpis": lambda con: KpiRunner(KpiQuery(period="month"), ZONE)(con),
        "acquisition": lambda con: AcquisitionRunner(AcquisitionQuery(period="month"), ZONE)(con),
    }
    got = {}
    for warehouse in (dirty, spark):
        with warehouse.reader() as con:
            got[warehouse.is_spark] = {k: answer(con).model_dump() for k, answer in picked.items()}
        with warehouse.reader(raw=True) as con:
            assert excluded_rows(con, warehouse.window)["orders"] == 3
    assert got[True] == got[False]
