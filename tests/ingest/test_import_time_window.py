"""Implausible times in file imports: rows before the earliest plausible time, or later than the
import time plus the tolerance, are rejected rows with their file and line, and counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tenure.config import Settings
from tenure.ingest.files.errors import ImportRejected
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping
from tenure.ingest.warnings.service import recent
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write

NOW = datetime.now(UTC)
LAST_YEAR = (NOW - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
SOON = (NOW + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")  # inside the tolerance
NEXT_WEEK = (NOW + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")

FILES = {
    "orders": (
        "order_id,user_id,ts,amount",
        [f"1,a,{LAST_YEAR},10", "2,a,0001-01-01T00:00:00Z,10", "3,b,9999-12-31 00:00:00,10"],
        None,
    ),
    "events": (
        "user_id,event,ts",
        ["a,Viewed,0001-01-01", f"a,Viewed,{LAST_YEAR}", "b,Viewed,9999-12-31T23:59:59Z"],
        Mapping(columns={"event": "name"}),
    ),
    "users": (
        "user_id,signup_at",
        ["a,0001-01-01", "b,9999-12-31", f"c,{LAST_YEAR}"],
        None,
    ),
    "spend": (
        "day,channel,amount",
        ["0001-01-01,ads,5", "9999-12-31,ads,5", f"{LAST_YEAR[:10]},ads,5"],
        None,
    ),
}
# The 1-based file line of each bad row (line 1 is the header).
BAD_LINES = {"orders": [3, 4], "events": [2, 4], "users": [2, 3], "spend": [2, 3]}


@pytest.mark.parametrize("kind", sorted(FILES))
def test_rows_outside_the_window_are_rejected_with_their_lines(
    kind: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    header, rows, mapping = FILES[kind]
    path = write(tmp_path / f"{kind}.csv", "\n".join([header, *rows]))
    settings = warehouse.settings
    with pytest.raises(ImportRejected) as caught:
        import_files(kind, [str(path)], settings=settings, warehouse=warehouse, mapping=mapping)
    sample = caught.value.data["sample"]
    assert [s["line"] for s in sample] == BAD_LINES[kind]
    early, late = sorted((s["reason"] for s in sample), key=lambda r: "earliest" not in r)
    assert "earliest plausible time 1990-01-01" in early and "0001-01-01" in early
    assert "TENURE_FUTURE_TOLERANCE" in late and "9999-12-31" in late
    summary = import_files(
        kind, [str(path)], settings=settings, warehouse=warehouse, mapping=mapping, max_rejects=2
    )
    assert (summary.rows, summary.rejected) == (3, 2)
    assert summary.time_rejected == {"too_early": 1, "too_late": 1}


def test_last_years_orders_and_a_few_hours_ahead_are_accepted_next_week_is_not(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "o.csv",
        f"order_id,user_id,ts,amount\n1,a,{LAST_YEAR},1\n2,a,{SOON},1\n3,a,{NEXT_WEEK},1",
    )
    with pytest.raises(ImportRejected) as caught:
        import_files("orders", [str(path)], settings=warehouse.settings, warehouse=warehouse)
    assert [s["line"] for s in caught.value.data["sample"]] == [4]


def test_the_earliest_time_is_a_setting(home: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="1900"):
        Settings(home=home, earliest_event_time=datetime(1850, 1, 1, tzinfo=UTC))
    settings = Settings(home=home, earliest_event_time=datetime(1950, 1, 1))
    assert settings.earliest_event_time == datetime(1950, 1, 1, tzinfo=UTC)
    warehouse = Warehouse(settings)
    warehouse.init()
    path = write(tmp_path / "o.csv", "order_id,user_id,ts,amount\n1,a,1960-06-01,1")
    summary = import_files("orders", [str(path)], settings=settings, warehouse=warehouse)
    assert summary.rejected == 0
    with warehouse.reader() as con:
        assert con.table("orders").count().execute() == 1


def test_rejections_are_counted_in_ingestion_warnings(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    warehouse = Warehouse(settings)
    warehouse.init()
    header, rows, _ = FILES["orders"]
    path = write(tmp_path / "orders.csv", "\n".join([header, *rows]))
    import_files(
        "orders",
        [str(path)],
        settings=settings,
        warehouse=warehouse,
        max_rejects=2,
        database=database,
    )
    found = database.read(lambda s: recent(s, NOW.date(), 1))
    assert {(w.source, w.reason, w.count) for w in found} == {
        ("import:orders", "too_early", 1),
        ("import:orders", "too_late", 1),
    }
    late = next(w for w in found if w.reason == "too_late")
    assert '"line": 4' in late.examples and "9999-12-31" in late.examples
