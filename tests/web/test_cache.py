"""The console's answer cache: reuse while the warehouse is unchanged, stale-while-revalidate
after a write, a bounded size, refusals never kept; and the warehouse's generation moves on a
write and only then."""

from __future__ import annotations

import time
from itertools import count

import pytest

from tenure.storage.warehouse import Warehouse
from tenure.web.cache import AnswerCache


def test_an_answer_is_reused_until_the_generation_moves() -> None:
    cache, calls = AnswerCache(stale_seconds=0), count(1)
    assert cache.get("q", (1,), lambda: next(calls)) == 1
    assert cache.get("q", (1,), lambda: next(calls)) == 1
    assert cache.get("q", (2,), lambda: next(calls)) == 2  # written since: computed again
    assert cache.get("other", (2,), lambda: next(calls)) == 3


def test_after_a_write_the_old_answer_is_served_while_it_is_recomputed() -> None:
    cache, calls = AnswerCache(stale_seconds=60), count(1)
    assert cache.get("q", (1,), lambda: next(calls)) == 1
    assert cache.get("q", (2,), lambda: next(calls)) == 1  # stale, refresh started
    deadline = time.monotonic() + 5
    while cache.get("q", (2,), lambda: -1) != 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_refusal_is_raised_and_not_kept() -> None:
    cache = AnswerCache(stale_seconds=0)

    def refuse() -> int:
        raise ValueError("bad question")

    with pytest.raises(ValueError, match="bad question"):
        cache.get("q", (1,), refuse)
    assert cache.get("q", (1,), lambda: 7) == 7


def test_the_cache_is_bounded() -> None:
    cache = AnswerCache(stale_seconds=0, max_entries=3)
    for key in range(5):
        cache.get(key, (1,), lambda key=key: key)  # type: ignore[misc]
    assert cache.get(0, (1,), lambda: "recomputed") == "recomputed"
    assert cache.get(4, (1,), lambda: "recomputed") == 4


def test_the_generation_moves_on_a_write_and_not_on_a_read(warehouse: Warehouse) -> None:
    from tenure.predict.scores import write_scores

    before = warehouse.generation()
    with warehouse.reader() as con:
        con.table("events").count().execute()
    assert warehouse.generation() == before
    with warehouse.writer() as writer:
        write_scores(writer, "churn", "v1", [("u1", {"churn_probability": 0.5})])
    assert warehouse.generation() != before
