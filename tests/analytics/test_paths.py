"""Paths: sessions split by inactivity, top paths around a start event, Sankey transitions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer import Typer
from typer.testing import CliRunner

from tenure.analytics.base import InvalidQuery
from tenure.analytics.paths import PathsQuery, PathsResult, paths_runner
from tenure.cli.paths import paths
from tenure.config import Settings, get_settings
from tenure.ingest.files.importer import import_files
from tenure.storage.warehouse import Warehouse
from tests.analytics.test_funnels import on_both_engines
from tests.ingest.builders import write

# p1: two sessions (a 2 h 05 min pause); p2: two sessions with a 40 min pause (one session
# when the gap is an hour); p3: one session whose pauses (20 and 25 min) stay under 30 min.
# p2's times are written in Berlin time (UTC+1), the rest in UTC.
EVENTS = """event_id,user_id,name,ts
    a1,p1,Session Started,2024-03-04T10:00:00Z
    a2,p1,Product Viewed,2024-03-04T10:01:00Z
    a3,p1,Product Viewed,2024-03-04T10:02:00Z
    a4,p1,Product Added,2024-03-04T10:05:00Z
    a5,p1,Product Viewed,2024-03-04T12:10:00Z
    a6,p1,Order Completed,2024-03-04T12:15:00Z
    b1,p2,Product Viewed,2024-03-04T11:00:00+01:00
    b2,p2,Product Added,2024-03-04T11:03:00+01:00
    b3,p2,Checkout Started,2024-03-04T11:04:00+01:00
    b4,p2,Product Viewed,2024-03-04T11:44:00+01:00
    b5,p2,Product Added,2024-03-04T11:45:00+01:00
    c1,p3,Product Viewed,2024-03-04T09:00:00Z
    c2,p3,Product Viewed,2024-03-04T09:20:00Z
    c3,p3,Product Viewed,2024-03-04T09:45:00Z
    c4,p3,Product Added,2024-03-04T10:10:00Z"""
V, A, C, S = "Product Viewed", "Product Added", "Checkout Started", "Session Started"
ORDER = "Order Completed"


def load(home: Path, **settings: Any) -> Warehouse:
    """A warehouse holding the hand-made sessions."""
    warehouse = Warehouse(Settings(home=home, inbox_flush_seconds=0, **settings))
    warehouse.init()
    path = write(home.parent / f"{home.name}.csv", EVENTS)
    import_files("events", [str(path)], settings=warehouse.settings, warehouse=warehouse)
    return warehouse


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The hand-made sessions, loaded once for the module."""
    return load(tmp_path_factory.mktemp("paths") / "home")


def run(warehouse: Warehouse, zone: ZoneInfo = ZoneInfo("UTC"), **query: Any) -> PathsResult:
    with warehouse.reader() as con:
        return paths_runner(PathsQuery.model_validate(query), zone)(con)


def top(result: PathsResult) -> list[tuple[list[str], int, int]]:
    return [(p.path, p.sessions, p.users) for p in result.paths]


def links(result: PathsResult) -> list[tuple[int, str, str, int]]:
    return [(t.step, t.source, t.target, t.sessions) for t in result.transitions]


class TestSessions:
    def test_paths_after_a_start_event_per_session(self, shop: Warehouse) -> None:
        result = run(shop, start=V, steps=2)
        assert (result.sessions, result.users) == (5, 3)
        # Ties are ordered by name: "Order Completed" < "Product Added" < "Product Viewed".
        assert top(result) == [
            ([V, ORDER], 1, 1),
            ([V, A, C], 1, 1),
            ([V, A], 1, 1),
            ([V, V, A], 1, 1),
            ([V, V, V], 1, 1),
        ]

    def test_a_longer_gap_merges_sessions(self, shop: Warehouse) -> None:
        result = run(shop, start=V, steps=2, session_gap=timedelta(hours=1))
        assert result.sessions == 4
        assert ([V, A, C], 1, 1) in top(result)
        assert [V, A] not in [p.path for p in result.paths]

    def test_collapsing_repeats(self, shop: Warehouse) -> None:
        result = run(shop, start=V, steps=2, collapse_repeats=True)
        assert top(result) == [([V, A], 3, 3), ([V, ORDER], 1, 1), ([V, A, C], 1, 1)]

    def test_top_limits_the_paths_but_not_the_counts(self, shop: Warehouse) -> None:
        result = run(shop, start=V, steps=2, collapse_repeats=True, top=1)
        assert top(result) == [([V, A], 3, 3)]
        assert result.paths[0].share == 0.6


class TestTransitions:
    def test_the_sankey_table_counts_sessions_per_step(self, shop: Warehouse) -> None:
        assert links(run(shop, start=V, steps=2)) == [
            (0, V, A, 2),
            (0, V, V, 2),
            (0, V, ORDER, 1),
            (1, A, C, 1),
            (1, V, A, 1),
            (1, V, V, 1),
        ]

    def test_collapsed_transitions(self, shop: Warehouse) -> None:
        result = run(shop, start=V, steps=3, collapse_repeats=True)
        assert links(result) == [(0, V, A, 4), (0, V, ORDER, 1), (1, A, C, 1)]


class TestBefore:
    def test_paths_leading_to_an_event(self, shop: Warehouse) -> None:
        result = run(shop, start=A, direction="before", steps=2, collapse_repeats=True)
        assert top(result) == [([V, A], 3, 2), ([S, V, A], 1, 1)]
        assert links(result) == [(-2, S, V, 1), (-1, V, A, 4)]

    def test_without_a_start_event_paths_end_with_the_session(self, shop: Warehouse) -> None:
        result = run(shop, direction="before", steps=1)
        assert result.sessions == 5
        assert ([V, ORDER], 1, 1) in top(result)


class TestOptions:
    def test_without_a_start_event_paths_begin_with_the_session(self, shop: Warehouse) -> None:
        result = run(shop, steps=1, ignore=[S])
        assert top(result) == [([V, A], 2, 1), ([V, V], 2, 2), ([V, ORDER], 1, 1)]

    def test_days_are_the_shops_days(self, shop: Warehouse) -> None:
        # In Kiritimati (UTC+14) 10:00 UTC is already midnight of 5 March: only p3's session,
        # which starts at 09:00 UTC, begins on the 4th there.
        assert run(shop, ZoneInfo("UTC"), steps=1, until="2024-03-04").sessions == 5
        assert run(shop, ZoneInfo("Pacific/Kiritimati"), steps=1, until="2024-03-04").sessions == 1
        assert run(shop, ZoneInfo("Pacific/Kiritimati"), steps=1, since="2024-03-05").sessions == 4

    def test_the_start_event_cannot_be_ignored(self, shop: Warehouse) -> None:
        with pytest.raises(InvalidQuery):
            run(shop, start=V, ignore=[V])


def test_cli_writes_the_transition_table(
    shop: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_HOME", str(shop.settings.home))
    get_settings.cache_clear()
    app = Typer()
    app.command()(paths)
    out = tmp_path / "sankey.csv"
    try:
        done = CliRunner().invoke(
            app,
            [
                "--start",
                V,
                "--steps",
                "3",
                "--collapse",
                "--transitions",
                "--format",
                "csv",
                "--out",
                str(out),
            ],
        )
        assert done.exit_code == 0, done.output
        assert out.read_text().splitlines() == [
            "step,source,target,sessions",
            f"0,{V},{A},4",
            f"0,{V},{ORDER},1",
            f"1,{A},{C},1",
        ]
        bad = CliRunner().invoke(app, ["--gap", "a while"])
        assert bad.exit_code == 1 and "analytics_invalid_query" in bad.output
    finally:
        get_settings.cache_clear()


@pytest.mark.spark
def test_duckdb_and_spark_give_equal_paths(
    tmp_path_factory: pytest.TempPathFactory, spark_session: object
) -> None:
    # The funnel tests' events: one Spark import serves both files.
    duck, spark = on_both_engines(tmp_path_factory.getbasetemp() / "engines")
    for query in (
        {"start": V, "steps": 2, "session_gap": timedelta(minutes=5)},
        {"start": ORDER, "direction": "before", "steps": 2, "collapse_repeats": True},
    ):
        assert run(duck, ZoneInfo("Europe/Berlin"), **query) == run(
            spark, ZoneInfo("Europe/Berlin"), **query
        )
