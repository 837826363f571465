"""The event names funnels and paths can use, as the console's step pickers list them."""

from __future__ import annotations

from pathlib import Path

from tenure.analytics.funnels.source import event_names
from tenure.config import Settings
from tenure.storage.warehouse import Warehouse
from tests.analytics.test_funnels import load

EVENTS = """event_id,user_id,anonymous_id,name,ts,type
    e1,u1,,Product Viewed,2024-03-04T10:00:00Z,track
    e2,u1,,Product Viewed,2024-03-04T10:01:00Z,track
    e3,,a2,Product Viewed,2024-03-04T10:02:00Z,track
    e4,u1,,Order Completed,2024-03-04T10:03:00Z,track
    e5,u2,,Home,2024-03-04T10:04:00Z,page
    e6,u2,,Identify Call,2024-03-04T10:05:00Z,identify
    e7,u2,,Added <b>,2024-03-04T10:06:00Z,track"""


def test_behavioural_names_alphabetically(tmp_path: Path) -> None:
    warehouse = load(tmp_path / "home", events=EVENTS, users=None)
    with warehouse.reader() as con:
        assert event_names(con) == ["Added <b>", "Home", "Order Completed", "Product Viewed"]
        # Over the limit: the most frequent names, still in alphabetical order.
        assert event_names(con, limit=2) == ["Added <b>", "Product Viewed"]


def test_an_empty_warehouse_has_no_names(tmp_path: Path) -> None:
    warehouse = Warehouse(Settings(home=tmp_path / "home", inbox_flush_seconds=0))
    warehouse.init()
    with warehouse.reader() as con:
        assert event_names(con) == []
