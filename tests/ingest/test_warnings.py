"""ingestion_warnings stays small: one counter per day, source and reason, a few examples, 90
days; parallel writers add up exactly (a first-insert race retries, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tenure.ingest.warnings.models import IngestionWarning
from tenure.ingest.warnings.service import (
    EXAMPLES,
    KEEP_DAYS,
    Decision,
    Tally,
    recent,
    record,
    tally,
)
from tenure.storage.database import Database

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def rows(database: Database) -> int:
    return database.read(lambda s: s.scalar(select(func.count()).select_from(IngestionWarning)))


def test_examples_are_capped_and_cut_to_size(database: Database) -> None:
    decisions = [
        Decision("tracking", "too_early", {"messageId": f"m{n}", "timestamp": "x" * 500})
        for n in range(50)
    ]
    database.write(lambda s: record(s, tally(decisions), NOW))
    database.write(lambda s: record(s, tally(decisions), NOW + timedelta(hours=1)))
    [row] = database.read(lambda s: recent(s, NOW.date(), 1))
    assert (row.count, row.first_at, row.last_at) == (100, NOW, NOW + timedelta(hours=1))
    examples = json.loads(row.examples)
    assert [e["messageId"] for e in examples] == [f"m{n}" for n in range(EXAMPLES)]
    assert all(len(e["timestamp"]) <= 120 for e in examples)


def test_old_days_are_forgotten_when_a_new_day_starts(database: Database) -> None:
    found = [Tally("tracking", "future_clamped", 1)]
    for days in range(KEEP_DAYS + 10):
        database.write(lambda s, d=days: record(s, found, NOW + timedelta(days=d)))
    assert rows(database) == KEEP_DAYS + 1  # the days kept before the newest one, and it


def test_parallel_writers_add_up(database: Database) -> None:
    threads, each = 8, 5
    barrier = threading.Barrier(threads)

    def one(_: int) -> None:
        barrier.wait()
        for _ in range(each):
            database.write(lambda s: record(s, [Tally("import:orders", "too_late", 2)], NOW))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(threads)))
    [row] = database.read(lambda s: recent(s, NOW.date(), 1))
    assert row.count == threads * each * 2
