"""Job registries and clocks for the job tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tenure.config import Settings
from tenure.jobs.registry import JobContext, JobRegistry, JobSpec
from tenure.jobs.worker import Worker
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A settable clock."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Recorder:
    """Job functions that record every execution (thread-safe)."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def job(self, name: str, seconds: float = 0.0, fail: bool = False) -> Any:
        def run(ctx: JobContext) -> dict[str, Any]:
            with self.lock:
                self.calls.append((name, threading.current_thread().name))
            if seconds:
                time.sleep(seconds)
            if fail:
                raise RuntimeError(f"{name} broke")
            return {"job": name}

        return run

    def count(self, name: str) -> int:
        return sum(1 for job, _ in self.calls if job == name)


def registry(recorder: Recorder, *specs: tuple[str, int, float, bool]) -> JobRegistry:
    """A registry of recording jobs: (name, interval seconds, run seconds, fails)."""
    return JobRegistry(
        [
            JobSpec(name, interval, recorder.job(name, seconds, fail))
            for name, interval, seconds, fail in specs
        ]
    )


def worker(
    settings: Settings,
    database: Database,
    jobs: JobRegistry,
    name: str,
    clock: Any = None,
    lease: float = 600.0,
) -> Worker:
    """A worker on the test database (the jobs here never touch the warehouse)."""
    ctx = JobContext(settings, database, Warehouse(settings))
    kwargs: dict[str, Any] = {"name": name, "lease_seconds": lease}
    if clock is not None:
        kwargs["clock"] = clock
    return Worker(ctx, jobs, **kwargs)
