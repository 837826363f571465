"""The same data imported into DuckDB and into Spark reads back identically through Ibis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ibis
import pandas as pd
import pytest
from ibis.expr.types import Table

from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping, preset
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write

pytestmark = pytest.mark.spark

Query = Callable[[Callable[[str], Table]], ibis.Expr]

QUERIES: dict[str, Query] = {
    "order_count": lambda t: t("orders").count(),
    "revenue_by_month": lambda t: (
        t("orders")
        .mutate(month=t("orders").ts.truncate("M"))
        .group_by(["month", "status"])
        .aggregate(revenue=lambda o: o.amount.sum(), orders=lambda o: o.count())
        .order_by(["month", "status"])
    ),
    "customers_by_week": lambda t: (
        t("orders")
        .filter(lambda o: o.user_id.notnull())
        .mutate(week=lambda o: o.ts.truncate("W"))
        .group_by("week")
        .aggregate(customers=lambda o: o.user_id.nunique())
        .order_by("week")
    ),
    "first_order_per_user": lambda t: (
        t("orders")
        .filter(lambda o: o.user_id.notnull() & (o.status == "paid"))
        .group_by("user_id")
        .aggregate(
            first=lambda o: o.ts.min(), n=lambda o: o.count(), spend=lambda o: o.amount.sum()
        )
        .order_by("user_id")
    ),
    "lines_by_sku": lambda t: (
        t("order_lines")
        .group_by("sku")
        .aggregate(q=lambda x: x.quantity.sum(), total=lambda x: x.line_total.sum())
        .order_by("sku")
    ),
    "users": lambda t: t("users").select("user_id", "first_seen", "country").order_by("user_id"),
    "items": lambda t: t("items").select("sku", "name", "price").order_by("sku"),
    "events_resolved": lambda t: (
        t("events").select("event_id", "user_id", "anonymous_id", "name", "ts").order_by("event_id")
    ),
}


def _load(settings: Settings, real_data: Path, events: Path) -> None:
    warehouse = Warehouse(settings)
    warehouse.init()
    days = sorted((real_data / "online_retail").glob("2010-12-0*.csv"))
    import_files(
        "orders",
        [str(p) for p in days],
        settings=settings,
        warehouse=warehouse,
        mapping=preset("online-retail", "orders"),
    )
    import_files(
        "events",
        [str(events)],
        settings=settings,
        warehouse=warehouse,
        mapping=Mapping(columns={"event": "name"}),
    )


def _results(settings: Settings) -> dict[str, pd.DataFrame]:
    out = {}
    with Warehouse(settings).reader() as con:
        for name, query in QUERIES.items():
            result = query(con.table).execute()
            frame = (
                result if isinstance(result, pd.DataFrame) else pd.DataFrame({"value": [result]})
            )
            out[name] = frame.reset_index(drop=True)
    return out


def test_duckdb_and_spark_read_the_same(
    tmp_path: Path, real_data: Path, spark_session: object
) -> None:
    events = write(
        tmp_path / "events.csv",
        """event_id,user_id,anonymous_id,event,ts,sku
           e1,,anon-1,Product Viewed,2010-12-01T09:00:00Z,A
           e2,,anon-1,Product Added,2010-12-01T09:01:00Z,A
           e3,17850,anon-1,Order Completed,2010-12-01T09:05:00Z,A
           e4,12583,,Product Viewed,2010-12-02T23:30:00Z,B""",
    )
    duck = Settings(home=tmp_path / "duck")
    spark = Settings(home=tmp_path / "spark", warehouse="spark")
    _load(duck, real_data, events)
    _load(spark, real_data, events)
    left, right = _results(duck), _results(spark)
    for name in QUERIES:
        a, b = left[name], right[name]
        assert len(a) > 0, name
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)
    # Identity resolution ran on both: the anonymous browsing belongs to the customer.
    assert left["events_resolved"].user_id.tolist()[:3] == ["17850"] * 3
