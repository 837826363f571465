"""DuckDB and Spark give equal KPI and acquisition results on the same hand-made shop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenure.analytics.kpis import AcquisitionQuery, AcquisitionRunner, KpiQuery, KpiRunner
from tenure.storage.warehouse import Warehouse
from tests.analytics.test_kpis_acquisition import QUERY, load_acquisition

pytestmark = pytest.mark.spark

KPI_QUERIES: tuple[dict[str, Any], ...] = (
    {"period": "month"},
    {"period": "week", "since": "2024-01-20", "until": "2024-03-10", "ltv_months": 2},
    {"period": "day", "since": "2024-01-31", "until": "2024-02-02"},
)


def answers(warehouse: Warehouse) -> list[dict[str, Any]]:
    zone = warehouse.settings.timezone
    out = []
    with warehouse.reader() as con:
        for query in KPI_QUERIES:
            out.append(KpiRunner(KpiQuery.model_validate(query), zone)(con).model_dump())
        for extra in ({}, {"period": "week"}):
            query = AcquisitionQuery.model_validate({**QUERY, **extra})
            out.append(AcquisitionRunner(query, zone)(con).model_dump())
    return out


def test_duckdb_and_spark_give_the_same_kpis(tmp_path: Path, spark_session: object) -> None:
    duck = answers(load_acquisition(tmp_path / "duck"))
    spark = answers(load_acquisition(tmp_path / "spark", warehouse="spark"))
    assert duck[0]["totals"]["orders"] == 9  # the shop's 8 orders and e's
    assert duck == spark
