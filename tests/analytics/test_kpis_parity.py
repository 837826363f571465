"""DuckDB and Spark give equal KPI and acquisition results on the same hand-made shops."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tenure.analytics.kpis import AcquisitionQuery, AcquisitionRunner, KpiQuery, KpiRunner
from tenure.analytics.retention import RetentionQuery, RetentionRunner
from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping
from tenure.storage.warehouse import Warehouse
from tests.analytics.test_currencies import ZONE as ZONE_TWO
from tests.analytics.test_currencies import load_two_shops
from tests.analytics.test_kpis import EVENTS, ORDERS, ZONE
from tests.analytics.test_kpis_acquisition import QUERY, SPEND
from tests.ingest.builders import write

pytestmark = pytest.mark.spark

# Weeks from mid-January: the lookback week, Monday weeks and a cut last week, on both engines.
KPIS = {"period": "week", "since": "2024-01-20", "until": "2024-03-06", "ltv_months": 2}
TABLES = ("orders", "events", "users", "spend")


def duck_shop(tmp_path: Path) -> Warehouse:
    """The shop imported from its CSV files into DuckDB."""
    warehouse = Warehouse(Settings(home=tmp_path / "duck", timezone=ZONE))
    warehouse.init()
    for kind, text, mapping in (
        ("orders", ORDERS, None),
        ("events", EVENTS, Mapping(columns={"event": "name"})),
        ("spend", SPEND, None),
    ):
        path = write(tmp_path / f"{kind}.csv", text)
        import_files(
            kind, [str(path)], settings=warehouse.settings, warehouse=warehouse, mapping=mapping
        )
    return warehouse


def spark_copy(duck: Warehouse, tmp_path: Path) -> Warehouse:
    """The same rows written to Spark, one write per table the runners read (Spark writes are slow)."""
    spark = Warehouse(Settings(home=tmp_path / "spark", timezone=ZONE, warehouse="spark"))
    with duck.reader() as con:
        tables = {name: con.table(name).to_pyarrow() for name in TABLES}
    with spark.writer() as writer:
        for name, rows in tables.items():
            writer.upsert(name, rows)
    return spark


def answers(warehouse: Warehouse) -> list[dict[str, Any]]:
    with warehouse.reader() as con:
        kpis = KpiRunner(KpiQuery.model_validate(KPIS), ZoneInfo(ZONE))(con)
        acquisition = AcquisitionRunner(AcquisitionQuery.model_validate(QUERY), ZoneInfo(ZONE))(con)
    return [kpis.model_dump(), acquisition.model_dump()]


def test_duckdb_and_spark_give_the_same_kpis(tmp_path: Path, spark_session: object) -> None:
    duck = duck_shop(tmp_path)
    expected = answers(duck)
    assert expected[0]["totals"]["orders"] == 5  # paid orders from Monday 15 January to 6 March
    assert [c["channel"] for c in expected[1]["channels"]] == ["ads", "email", "social"]
    assert answers(spark_copy(duck, tmp_path)) == expected


def test_duckdb_and_spark_keep_currencies_apart_alike(
    tmp_path: Path, spark_session: object
) -> None:
    """Two shops in pounds and dollars: money per currency, the same on both engines."""
    duck = load_two_shops(tmp_path / "two")
    zone = duck.settings.zone

    def per_currency(warehouse: Warehouse) -> list[dict[str, Any]]:
        out = []
        with warehouse.reader() as con:
            for currency in ("GBP", None):
                kpis = KpiQuery(period="month", currency=currency)
                acquisition = AcquisitionQuery(currency=currency, horizons=(30,))
                retention = RetentionQuery(period="month", periods=2, currency=currency)
                out += [
                    KpiRunner(kpis, zone)(con).model_dump(),
                    AcquisitionRunner(acquisition, zone)(con).model_dump(),
                    RetentionRunner(retention, zone)(con).model_dump(),
                ]
        return out

    expected = per_currency(duck)
    assert [e["currency"] for e in expected] == ["GBP"] * 3 + ["USD"] * 3
    assert expected[0]["totals"]["revenue"] == 220.0  # the pound orders alone
    spark = Warehouse(Settings(home=tmp_path / "spark2", timezone=ZONE_TWO, warehouse="spark"))
    spark.init()  # the two shops have no events: an empty table still exists
    with duck.reader() as con:
        tables = {name: con.table(name).to_pyarrow() for name in TABLES}
    with spark.writer() as writer:
        for name, rows in tables.items():
            writer.upsert(name, rows)
    assert per_currency(spark) == expected
