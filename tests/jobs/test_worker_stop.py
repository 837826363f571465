"""Stopping a worker: no new claims, a running job is unwound and handed back, due at once."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tenure.cli.jobs import StopOnSignal
from tenure.config import Settings
from tenure.jobs import service
from tenure.jobs.registry import JobContext, JobRegistry, JobSpec
from tenure.jobs.worker import Interrupted
from tenure.storage.database import Database
from tests.jobs.builders import Clock, Recorder, registry, worker


def _row(database: Database, name: str) -> dict[str, Any]:
    rows = database.read(service.schedule)
    return next(row for row in rows if row["name"] == name)


@pytest.fixture
def handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_an_interrupted_job_is_handed_back_due_at_once(
    settings: Settings, database: Database
) -> None:
    runs: list[str] = []

    def stopped_once(_ctx: JobContext) -> dict[str, Any]:
        runs.append("run")
        if len(runs) == 1:
            raise Interrupted("SIGTERM")
        return {}

    jobs = JobRegistry([JobSpec("nightly", 86_400, stopped_once)])
    clock = Clock()
    first = worker(settings, database, jobs, "w1", clock)
    first.sync()
    with pytest.raises(Interrupted):
        first.run_due()
    row = _row(database, "nightly")
    assert (row["running_on"], row["last_status"]) == (None, "interrupted")
    assert row["next_run_at"] == clock.now  # not a day later
    second = worker(settings, database, jobs, "w2", clock)
    assert [r.status for r in second.run_due()] == ["ok"]


def test_a_stopped_worker_claims_nothing_more(settings: Settings, database: Database) -> None:
    recorder = Recorder()
    jobs = registry(recorder, ("a", 60, 0, False), ("b", 60, 0, False))
    w = worker(settings, database, jobs, "w1", Clock())
    w.sync()
    stop = threading.Event()
    stop.set()
    assert w.run_due(stop) == []
    assert recorder.calls == []


@pytest.mark.usefixtures("handlers")
def test_sigterm_unwinds_a_long_job_and_the_loop_ends(
    settings: Settings, database: Database
) -> None:
    jobs = registry(Recorder(), ("slow", 3600, 60, False))  # a job of one minute
    w = worker(settings, database, jobs, "w1", Clock())
    stop = StopOnSignal(w, hard_stop=600)
    stop.install()
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        w.loop(0.1, stop.event)
    assert stop.deadline is not None
    stop.deadline.cancel()
    assert time.monotonic() - started < 10
    assert _row(database, "slow")["last_status"] == "interrupted"
