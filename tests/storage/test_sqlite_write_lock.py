"""SQLite's write lock (taken by `Database.write`) holds across processes, not only threads."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tenure.storage.database import Database


def _bump(url: str, counter: str, times: int, start: Any = None) -> None:
    # Read, wait, then write: exactly the pattern a lost update needs without the lock.
    database = Database(url)
    path = Path(counter)
    if start is not None:
        start.wait(60)

    def bump(_session: Session) -> None:
        value = int(path.read_text())
        time.sleep(0.001)
        path.write_text(str(value + 1))

    for _ in range(times):
        database.write(bump)


def test_two_processes_never_interleave_their_units_of_work(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tenure.db'}"
    counter = tmp_path / "counter"
    counter.write_text("0")
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=_bump, args=(url, str(counter), 100, start)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert int(counter.read_text()) == 300


def test_an_in_memory_database_has_a_thread_lock_only(tmp_path: Path) -> None:
    database = Database("sqlite:///:memory:")
    database.write(lambda s: None)
    assert not list(tmp_path.glob("*.writelock"))
