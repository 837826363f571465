"""The console's cache of warehouse answers: a page view reads what the query runners computed
for the same question, recomputing only when the warehouse has changed.

An answer is reused while the warehouse's generation is unchanged (nothing was written since).
Once the data moves on (every tracking flush does), the old answer is still served for up to
`Settings.console_stale_seconds` while one background thread recomputes it, so a shop that
streams events keeps fast pages that lag its data by seconds (stale-while-revalidate, as
dashboards do). The first view of a question computes while the operator waits.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request

from tenure.analytics.base import Runner
from tenure.i18n import current_locale

T = TypeVar("T")
R = TypeVar("R")
MAX_ENTRIES = 256


@dataclass
class _Entry:
    value: Any
    generation: tuple[int, ...]
    computed_at: float


class AnswerCache:
    """A bounded LRU of answers keyed by question, each stamped with the generation it read."""

    def __init__(self, stale_seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.stale_seconds = stale_seconds
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._refreshing: set[Hashable] = set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-cache")

    def get(self, key: Hashable, generation: tuple[int, ...], compute: Callable[[], T]) -> T:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is not None and entry.generation == generation:
            value: T = entry.value
            return value
        if entry is not None and time.monotonic() - entry.computed_at < self.stale_seconds:
            self._refresh_later(key, generation, compute)
            stale: T = entry.value
            return stale
        return self._compute(key, generation, compute)

    def _compute(self, key: Hashable, generation: tuple[int, ...], compute: Callable[[], T]) -> T:
        value = compute()
        with self._lock:
            self._entries[key] = _Entry(value, generation, time.monotonic())
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def _refresh_later(
        self, key: Hashable, generation: tuple[int, ...], compute: Callable[[], Any]
    ) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def refresh() -> None:
            try:
                self._compute(key, generation, compute)
            except Exception:  # the next view computes again, and shows the error
                with self._lock:
                    self._entries.pop(key, None)
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        self._pool.submit(refresh)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def answer(request: Request, key: Hashable, compute: Callable[[], T]) -> T:
    """The warehouse answer for `key` (a page name and its parameters, the locale when the
    answer holds text), from the app's cache or computed now."""
    cache: AnswerCache = request.app.state.console_cache
    return cache.get(key, request.app.state.warehouse.generation(), compute)


def run(request: Request, runner: Runner[Any, R]) -> R:
    """A query runner's answer through the cache: keyed by the runner, its query and zone, and the
    locale (some answers carry text). A refusal (InvalidQuery) is raised, never kept."""
    key = (
        type(runner).__name__,
        runner.query.model_dump_json(),
        runner.zone.key,
        current_locale(),
    )

    def compute() -> R:
        with request.app.state.warehouse.reader() as con:
            return runner(con)

    return answer(request, key, compute)
