"""Funnels: each mode on the same hand-made events, exclusions, breakdowns, times, export."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer import Typer
from typer.testing import CliRunner

from tenure.analytics.base import InvalidQuery
from tenure.analytics.funnels import FunnelQuery, FunnelResult, funnel_runner
from tenure.analytics.funnels.router import router
from tenure.api import errors
from tenure.apikeys.service import create_key
from tenure.cli.funnels import funnel
from tenure.config import Settings, get_settings
from tenure.ingest.files.importer import import_files
from tenure.simulate import SimulationConfig, simulate_shop
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import write

# 2024-03-04 is a Monday. u1 goes straight through; u2 browses a wishlist in between (not
# strict); u3 adds to cart before viewing (only unordered); u4 orders two days later (outside a
# one-day window); u5 removes the item and orders anyway; u6 removes, re-adds, then orders;
# a7 is an anonymous visitor; u8 viewed once, came back four days later and added to cart;
# u9 viewed at 00:30 on 5 March in Berlin (still 4 March in UTC).
EVENTS = """event_id,user_id,anonymous_id,name,ts,category
    e01,u1,,Product Viewed,2024-03-04T10:00:00Z,shoes
    e02,u1,,Product Added,2024-03-04T10:05:00Z,shoes
    e03,u1,,Order Completed,2024-03-04T10:30:00Z,
    e04,u2,,Product Viewed,2024-03-04T11:00:00+01:00,books
    e05,u2,,Wishlist Added,2024-03-04T11:02:00+01:00,books
    e06,u2,,Product Added,2024-03-04T11:04:00+01:00,books
    e07,u2,,Order Completed,2024-03-04T11:20:00+01:00,
    e08,u3,,Product Added,2024-03-04T09:00:00Z,shoes
    e09,u3,,Product Viewed,2024-03-04T09:10:00Z,shoes
    e10,u3,,Order Completed,2024-03-04T09:20:00Z,
    e11,u4,,Product Viewed,2024-03-04T10:00:00Z,books
    e12,u4,,Product Added,2024-03-04T10:10:00Z,books
    e13,u4,,Order Completed,2024-03-06T10:00:00Z,
    e14,u5,,Product Viewed,2024-03-04T10:00:00Z,shoes
    e15,u5,,Product Added,2024-03-04T10:02:00Z,shoes
    e16,u5,,Product Removed,2024-03-04T10:03:00Z,shoes
    e17,u5,,Order Completed,2024-03-04T10:30:00Z,
    e18,u6,,Product Viewed,2024-03-04T10:00:00Z,shoes
    e19,u6,,Product Added,2024-03-04T10:01:00Z,shoes
    e20,u6,,Product Removed,2024-03-04T10:02:00Z,shoes
    e21,u6,,Product Added,2024-03-04T10:03:00Z,shoes
    e22,u6,,Order Completed,2024-03-04T10:40:00Z,
    e23,,a7,Product Viewed,2024-03-04T11:00:00Z,books
    e24,u8,,Product Viewed,2024-03-04T10:00:00Z,books
    e25,u8,,Product Viewed,2024-03-08T12:00:00Z,shoes
    e26,u8,,Product Added,2024-03-08T12:10:00Z,shoes
    e27,u9,,Product Viewed,2024-03-05T00:30:00+01:00,books"""
USERS = """user_id,channel
    u1,email
    u2,email
    u3,organic
    u4,organic
    u5,email
    u6,organic
    u8,organic"""
STEPS = ("Product Viewed", "Product Added", "Order Completed")


def load(home: Path, events: str = EVENTS, users: str | None = USERS, **kw: Any) -> Warehouse:
    """A warehouse holding the given events (and users)."""
    settings = Settings(home=home, inbox_flush_seconds=0, **kw)
    warehouse = Warehouse(settings)
    warehouse.init()
    path = write(home.parent / f"{home.name}-events.csv", events)
    import_files("events", [str(path)], settings=settings, warehouse=warehouse)
    if users:
        path = write(home.parent / f"{home.name}-users.csv", users)
        import_files("users", [str(path)], settings=settings, warehouse=warehouse)
    return warehouse


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The hand-made shop, loaded once for the module."""
    return load(tmp_path_factory.mktemp("funnels") / "home")


def run(warehouse: Warehouse, zone: ZoneInfo = ZoneInfo("UTC"), **query: Any) -> FunnelResult:
    query = {"steps": STEPS, "window": timedelta(days=1), **query}
    with warehouse.reader() as con:
        return funnel_runner(FunnelQuery.model_validate(query), zone)(con)


def counts(result: FunnelResult) -> list[int]:
    return [s.users for s in result.overall.steps]


class TestModes:
    def test_ordered_lets_other_events_happen_between_steps(self, shop: Warehouse) -> None:
        result = run(shop)
        assert counts(result) == [9, 6, 4]
        assert [s.dropped for s in result.overall.steps] == [3, 2, 0]
        assert [s.step_conversion_rate for s in result.overall.steps] == [1.0, 0.6667, 0.6667]
        assert result.overall.steps[2].conversion_rate == 0.4444

    def test_strict_needs_each_step_to_be_the_very_next_event(self, shop: Warehouse) -> None:
        # u2's wishlist and u5/u6's removal break the chain; u4's order is outside the window.
        assert counts(run(shop, mode="strict")) == [9, 5, 1]

    def test_unordered_accepts_any_order_within_the_window(self, shop: Warehouse) -> None:
        # u3 added to cart before viewing: converted only here.
        assert counts(run(shop, mode="unordered")) == [9, 7, 5]

    def test_a_step_outside_the_window_does_not_count(self, shop: Warehouse) -> None:
        assert counts(run(shop, window=timedelta(days=3))) == [9, 6, 5]

    def test_the_best_attempt_is_counted_once_per_person(self, shop: Warehouse) -> None:
        # u8's first view never led on; the view four days later did.
        result = run(shop, steps=STEPS[:2], time_buckets=(0, 601))
        assert counts(result) == [9, 6]
        assert result.overall.steps[1].time_buckets[0].users == 6


class TestExclusions:
    def test_an_exclusion_between_two_steps_discards_that_conversion(self, shop: Warehouse) -> None:
        excl = [{"event": "Product Removed", "from_step": 2, "to_step": 3}]
        # u5 removed the item after adding it; u6 added it again after removing: still converts.
        assert counts(run(shop, exclusions=excl)) == [9, 6, 3]

    def test_an_exclusion_over_the_whole_funnel_needs_a_fresh_start(self, shop: Warehouse) -> None:
        assert counts(run(shop, exclusions=[{"event": "Product Removed"}])) == [9, 6, 2]

    def test_exclusions_need_an_ordered_funnel(self, shop: Warehouse) -> None:
        with pytest.raises(InvalidQuery):
            run(shop, mode="unordered", exclusions=[{"event": "Product Removed"}])
        with pytest.raises(InvalidQuery):
            run(shop, exclusions=[{"event": "Product Added"}])


class TestTimes:
    def test_median_time_between_steps(self, shop: Warehouse) -> None:
        steps = run(shop).overall.steps
        # Add after view: 60, 120, 240, 300, 600, 600 s; order after add: 960, 1500, 1680, 2340.
        assert steps[0].median_seconds is None
        assert steps[1].median_seconds == 270.0
        assert steps[2].median_seconds == 1590.0
        assert steps[2].median_seconds_from_start == 1800.0

    def test_time_histogram_with_custom_edges(self, shop: Warehouse) -> None:
        buckets = run(shop, time_buckets=(0, 120, 600)).overall.steps[1].time_buckets
        assert [(b.from_seconds, b.to_seconds, b.users) for b in buckets] == [
            (0, 120, 1),
            (120, 600, 3),
            (600, 86400, 2),
        ]

    def test_unordered_times_run_from_the_first_event(self, shop: Warehouse) -> None:
        steps = run(shop, mode="unordered").overall.steps
        assert (steps[1].median_seconds, steps[2].median_seconds_from_start) == (300.0, 1800.0)


class TestBreakdowns:
    def test_by_event_property_of_the_counted_first_step(self, shop: Warehouse) -> None:
        result = run(shop, breakdown={"kind": "event", "key": "$.category"})
        by = {s.segment: [x.users for x in s.steps] for s in result.segments}
        assert by == {"shoes": [5, 4, 3], "books": [4, 2, 1]}
        assert [s.segment for s in result.segments] == ["shoes", "books"]
        assert counts(result) == [9, 6, 4]

    def test_by_user_channel(self, shop: Warehouse) -> None:
        result = run(shop, breakdown={"kind": "user", "key": "channel"})
        by = {s.segment: [x.users for x in s.steps] for s in result.segments}
        assert by == {"email": [3, 3, 3], "organic": [4, 3, 1], "(none)": [2, 0, 0]}


class TestDateRange:
    def test_days_are_the_shops_days(self, shop: Warehouse) -> None:
        day = {"since": "2024-03-05", "until": "2024-03-05"}
        assert counts(run(shop, ZoneInfo("Europe/Berlin"), **day)) == [1, 0, 0]
        assert counts(run(shop, ZoneInfo("UTC"), **day)) == [0, 0, 0]
        assert counts(run(shop, ZoneInfo("UTC"), since="2024-03-08")) == [1, 1, 0]


class TestDroppedAt:
    def test_people_who_reached_a_step_but_not_the_next(self, shop: Warehouse) -> None:
        query = FunnelQuery(steps=STEPS, window=timedelta(days=1))
        with shop.reader() as con:
            two = funnel_runner(query).dropped_frame(con, 2)
            one = funnel_runner(query).dropped(con, 1)
        assert two.user_id.tolist() == ["u4", "u8"]
        assert [str(t) for t in two.reached_at] == [
            "2024-03-04 10:10:00+00:00",
            "2024-03-08 12:10:00+00:00",
        ]
        assert [(u.user_id, u.anonymous_id) for u in one.users] == [
            (None, "a7"),
            ("u3", None),
            ("u9", None),
        ]

    def test_the_last_step_has_no_drop_outs(self, shop: Warehouse) -> None:
        with shop.reader() as con, pytest.raises(InvalidQuery):
            funnel_runner(FunnelQuery(steps=STEPS)).dropped_frame(con, 3)


def test_a_twelve_step_funnel(tmp_path: Path) -> None:
    names = [f"Step {k:02d}" for k in range(1, 13)]
    rows = []
    for person, skip, late in (("p1", None, False), ("p2", 7, False), ("p3", None, True)):
        for k, name in enumerate(names, start=1):
            if k == skip:
                continue
            day = 6 if late and k == 12 else 4
            rows.append(f"{person}-{k},{person},,{name},2024-03-0{day}T10:{k:02d}:00Z")
    shop = load(
        tmp_path / "home", "event_id,user_id,anonymous_id,name,ts\n" + "\n".join(rows), None
    )
    for mode in ("ordered", "strict", "unordered"):
        result = run(shop, steps=tuple(names), mode=mode)
        assert counts(result) == [3] * 6 + [2] * 5 + [1], mode
        assert {s.median_seconds for s in result.overall.steps[1:]} == {60.0}, mode


def test_cli_exports_drop_outs_and_prints_json(
    shop: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_HOME", str(shop.settings.home))
    get_settings.cache_clear()
    app = Typer()
    app.command()(funnel)
    steps = [arg for name in STEPS for arg in ("--step", name)]
    try:
        out = tmp_path / "users.csv"
        done = CliRunner().invoke(app, [*steps, "--window", "1d", "--dropped-at", "2", "--format", "csv", "--out", str(out)])  # fmt: skip
        assert done.exit_code == 0, done.output
        assert out.read_text().splitlines()[0] == "user_id,anonymous_id,segment,reached_at"
        assert [line.split(",")[0] for line in out.read_text().splitlines()[1:]] == ["u4", "u8"]
        shown = CliRunner().invoke(app, [*steps, "--mode", "strict", "--window", "1d", "--format", "json"])  # fmt: skip
        assert shown.exit_code == 0, shown.output
        assert '"users": 5' in shown.output
        cut = CliRunner().invoke(app, [*steps, "--window", "1d", "--exclude", "Product Removed:2:3", "--format", "json"])  # fmt: skip
        assert [s["users"] for s in json.loads(cut.stdout)["overall"]["steps"]] == [9, 6, 3]
        bad = CliRunner().invoke(app, [*steps, "--window", "soon"])
        assert bad.exit_code == 1 and "analytics_invalid_query" in bad.output
    finally:
        get_settings.cache_clear()


def test_http_endpoint_needs_admin_and_answers(shop: Warehouse) -> None:
    settings = shop.settings
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    app = FastAPI()
    app.state.settings, app.state.database, app.state.warehouse = settings, database, shop
    errors.install(app)
    app.include_router(router)
    with database.session() as session:
        admin = create_key(session, "a", ["admin"]).secret
        server = create_key(session, "s", ["server"]).secret
    client = TestClient(app)
    body = {"steps": list(STEPS), "window": 86400, "mode": "unordered"}
    assert client.post("/v1/analytics/funnel", json=body).status_code == 401
    auth = {"authorization": f"Bearer {server}"}
    assert client.post("/v1/analytics/funnel", json=body, headers=auth).status_code == 403
    auth = {"authorization": f"Bearer {admin}"}
    answer = client.post("/v1/analytics/funnel", json=body, headers=auth)
    assert answer.status_code == 200
    assert [s["users"] for s in answer.json()["overall"]["steps"]] == [9, 7, 5]
    dropped = client.post(
        "/v1/analytics/funnel/dropped", json={"query": body, "step": 2}, headers=auth
    )
    assert [u["user_id"] for u in dropped.json()["users"]] == ["u4", "u8"]
    bad = client.post("/v1/analytics/funnel", json={**body, "steps": ["A"]}, headers=auth)
    assert bad.status_code == 400 and bad.json()["code"] == "analytics_invalid_query"


def reference(events: pd.DataFrame, steps: tuple[str, ...], window: timedelta, mode: str) -> Any:
    """Counts per step and median seconds from the previous step, person by person in Python."""
    ev = events[events.type.isin(["track", "page", "screen"])].copy()
    ev["person"] = ev.user_id.fillna(ev.anonymous_id)
    ev = ev.sort_values(["person", "ts", "event_id"])
    levels: list[int] = []
    gaps: dict[int, list[float]] = {k: [] for k in range(2, len(steps) + 1)}
    for _, rows in ev.groupby("person", sort=False):
        names, times = rows.name.tolist(), rows.ts.tolist()
        best: tuple[int, Any, list[Any]] = (0, None, [])
        for i, name in enumerate(names):
            a, chain = times[i], [times[i]]
            if mode == "strict" and name == steps[0]:
                for j in range(1, len(steps)):
                    at = i + j
                    if (
                        at < len(names)
                        and names[at] == steps[j]
                        and chain[-1] < times[at] <= a + window
                    ):
                        chain.append(times[at])
                    else:
                        break
            elif mode == "ordered" and name == steps[0]:
                for step in steps[1:]:
                    later = [t for n, t in zip(names, times, strict=True) if n == step]
                    at = bisect_right(later, chain[-1])
                    if at == len(later) or later[at] > a + window:
                        break
                    chain.append(later[at])
            elif mode == "unordered" and name in steps:
                first = []
                for step in steps:
                    own = [t for n, t in zip(names, times, strict=True) if n == step]
                    at = bisect_left(own, a)
                    first.append(own[at] if at < len(own) and own[at] <= a + window else None)
                k = max((k for k in range(1, len(steps) + 1) if None not in first[:k]), default=0)
                k = k if steps.index(name) < k else 0
                chain = [a] + [max([a, *first[:j]]) for j in range(2, k + 1)]
            else:
                continue
            best = max(best, (len(chain), a, chain))
        if best[0]:
            levels.append(best[0])
            for k in range(2, best[0] + 1):
                gaps[k].append((best[2][k - 1] - best[2][k - 2]).total_seconds())
    users = [sum(level >= k for level in levels) for k in range(1, len(steps) + 1)]
    medians = [round(float(np.median(gaps[k])), 3) if gaps[k] else None for k in gaps]
    return users, medians


@pytest.mark.parametrize("mode", ["ordered", "strict", "unordered"])
def test_simulated_shop_matches_pandas(mode: str, simulated: Warehouse) -> None:
    steps = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
    window = timedelta(days=2)
    with simulated.reader() as con:
        events = con.table("events").execute()
    users, medians = reference(events, steps, window, mode)
    result = run(simulated, steps=steps, mode=mode, window=window)
    assert counts(result) == users
    assert counts(result)[-1] > 100
    assert [s.median_seconds for s in result.overall.steps[1:]] == medians


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """About a thousand simulated customers (and their anonymous visitors)."""
    home = tmp_path_factory.mktemp("simulated") / "home"
    config = SimulationConfig(users=1000, days=90, start=date(2024, 3, 1), seed=7)
    simulate_shop(config, home.parent / "sim")
    settings = Settings(home=home, inbox_flush_seconds=0)
    warehouse = Warehouse(settings)
    warehouse.init()
    import_files(
        "events",
        [str(home.parent / "sim" / "events.parquet")],
        settings=settings,
        warehouse=warehouse,
    )
    return warehouse


_ENGINES: dict[str, Warehouse] = {}


def on_both_engines(root: Path) -> tuple[Warehouse, Warehouse]:
    """The hand-made events in DuckDB and in Spark, imported once per run (Spark writes are slow)."""
    if not _ENGINES:
        _ENGINES["duck"] = load(root / "duck", users=None)
        _ENGINES["spark"] = load(root / "spark", users=None, warehouse="spark")
    return _ENGINES["duck"], _ENGINES["spark"]


@pytest.mark.spark
def test_duckdb_and_spark_give_equal_funnels(
    tmp_path_factory: pytest.TempPathFactory, spark_session: object
) -> None:
    duck, spark = on_both_engines(tmp_path_factory.getbasetemp() / "engines")
    queries: list[dict[str, Any]] = [
        {"breakdown": {"kind": "event", "key": "$.category"}, "exclusions": [{"event": "Product Removed", "from_step": 2}]},
        {"mode": "strict", "time_buckets": (0, 120, 600)},
        {"mode": "unordered", "since": "2024-03-05"},
    ]  # fmt: skip
    for query in queries:
        assert run(duck, ZoneInfo("Europe/Berlin"), **query) == run(
            spark, ZoneInfo("Europe/Berlin"), **query
        ), query
