"""A week's lifecycle moves and the saved segments that grew or shrank most over a span (from
their refresh snapshots), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from tenure.segments import service
from tenure.storage.database import Database

RULE = {"field": "feature.orders", "op": "gte", "value": 2}
START, END = datetime(2024, 8, 19, tzinfo=UTC), datetime(2024, 8, 26, tzinfo=UTC)


def users(n: int) -> list[str]:
    return [f"u{i:03d}" for i in range(n)]


def test_movers_rank_by_the_change_between_two_instants(database: Database) -> None:
    def work(session):  # type: ignore[no-untyped-def]
        for key in ("grow", "shrink", "same", "fresh", "later"):
            service.create_segment(session, key, RULE, name=key.upper())
        service.apply_refresh(session, "grow", users(5), datetime(2024, 8, 1, tzinfo=UTC))
        service.apply_refresh(session, "grow", users(8), datetime(2024, 8, 18, tzinfo=UTC))
        service.apply_refresh(session, "grow", users(20), datetime(2024, 8, 20, tzinfo=UTC))
        service.apply_refresh(session, "grow", users(30), datetime(2024, 8, 25, tzinfo=UTC))
        service.apply_refresh(session, "shrink", users(50), datetime(2024, 8, 10, tzinfo=UTC))
        service.apply_refresh(session, "shrink", users(38), datetime(2024, 8, 22, tzinfo=UTC))
        service.apply_refresh(session, "same", users(9), datetime(2024, 8, 10, tzinfo=UTC))
        service.apply_refresh(session, "same", users(9), datetime(2024, 8, 22, tzinfo=UTC))
        service.apply_refresh(session, "fresh", users(4), datetime(2024, 8, 23, tzinfo=UTC))
        service.apply_refresh(session, "later", users(99), END)  # at the end: not in the span

    database.write(work)
    moves = database.read(lambda s: service.segment_movers(s, START, END))
    assert [(m.key, m.name, m.before, m.after, m.change) for m in moves] == [
        ("grow", "GROW", 8, 30, 22),
        ("shrink", "SHRINK", 50, 38, -12),
        ("fresh", "FRESH", None, 4, 4),
    ]
    assert moves[0].change_rate == 22 / 8 and moves[2].change_rate is None
    assert [m.key for m in database.read(lambda s: service.segment_movers(s, START, END, 1))] == [
        "grow"
    ]
    assert database.read(lambda s: service.segment_movers(s, START, START)) == []


def test_flows_between_count_the_moves_dated_inside_the_days(database: Database) -> None:
    first = pd.DataFrame(
        {"user_id": ["a", "b", "c"], "stage": ["new", "new", "active"],
         "since": [date(2024, 8, 1), date(2024, 8, 19), date(2024, 8, 25)]}
    )  # fmt: skip
    later = pd.DataFrame(
        {"user_id": ["a", "b", "c"], "stage": ["at_risk", "new", "active"],
         "since": [date(2024, 8, 26), date(2024, 8, 19), date(2024, 8, 25)]}
    )  # fmt: skip
    database.write(lambda s: service.record_stages(s, first))
    database.write(lambda s: service.record_stages(s, later))
    week = database.read(lambda s: service.flows_between(s, date(2024, 8, 19), date(2024, 8, 25)))
    assert week == [(None, "active", 1), (None, "new", 1)]
    assert database.read(
        lambda s: service.flows_between(s, date(2024, 8, 26), date(2024, 9, 1))
    ) == [("new", "at_risk", 1)]
