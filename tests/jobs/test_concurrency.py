"""Two workers on one PostgreSQL database never run the same job twice."""

from __future__ import annotations

import threading
from pathlib import Path

from tenure.config import Settings
from tenure.jobs import service
from tenure.storage.database import Database
from tests.jobs.builders import Recorder, registry, worker


def test_two_concurrent_workers_run_every_due_job_exactly_once(home: Path, pg_url: str) -> None:
    settings = Settings(home=home, database_url=pg_url, inbox_flush_seconds=0)
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    recorder = Recorder()
    names = [f"job{i}" for i in range(8)]
    jobs = registry(recorder, *((name, 3600, 0.2, False) for name in names))
    workers = [worker(settings, database, jobs, f"w{i}") for i in range(2)]
    workers[0].sync()
    start = threading.Barrier(len(workers))
    results: dict[str, list[str]] = {}

    def run(w: object) -> None:
        start.wait()
        results[w.name] = [r.name for r in w.run_due()]  # type: ignore[attr-defined]

    threads = [threading.Thread(target=run, args=(w,), name=w.name) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ran = sorted(name for done in results.values() for name in done)
    assert ran == names
    assert sorted(name for name, _ in recorder.calls) == names
    # Both workers did part of the work: the second skipped the rows the first had locked.
    assert all(results[w.name] for w in workers)
    with database.session() as session:
        runs = service.repository.recent_runs(session, limit=100)
    assert sorted(r.job_name for r in runs) == names


def test_racing_for_one_job_lets_exactly_one_worker_run_it(home: Path, pg_url: str) -> None:
    settings = Settings(home=home, database_url=pg_url, inbox_flush_seconds=0)
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    recorder = Recorder()
    jobs = registry(recorder, ("only", 3600, 0.3, False))
    workers = [worker(settings, database, jobs, f"w{i}") for i in range(6)]
    workers[0].sync()
    start = threading.Barrier(len(workers))
    counts: list[int] = []

    def run(w: object) -> None:
        start.wait()
        counts.append(len(w.run_due()))  # type: ignore[attr-defined]

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == [0, 0, 0, 0, 0, 1]
    assert recorder.count("only") == 1
