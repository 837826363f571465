"""The job schedule on SQLite and PostgreSQL: due jobs run once, leases keep others out."""

from __future__ import annotations

import pytest

from tenure.config import Settings
from tenure.jobs import service
from tenure.jobs.errors import JobRunning, JobUnknown
from tenure.storage.database import Database
from tests.jobs.builders import START, Clock, Recorder, registry, worker


class TestSchedule:
    def test_sync_adds_each_registered_job_once_due_immediately(
        self, settings: Settings, database: Database
    ) -> None:
        jobs = registry(Recorder(), ("a", 60, 0, False), ("b", 3600, 0, False))
        w = worker(settings, database, jobs, "w1", Clock())
        assert w.sync() == 2
        assert w.sync() == 0
        with database.session() as session:
            rows = service.schedule(session)
        assert [(r["name"], r["interval_seconds"], r["next_run_at"]) for r in rows] == [
            ("a", 60, START),
            ("b", 3600, START),
        ]

    def test_changing_interval_and_disabling_are_kept(
        self, settings: Settings, database: Database
    ) -> None:
        recorder = Recorder()
        jobs = registry(recorder, ("a", 60, 0, False))
        w = worker(settings, database, jobs, "w1", Clock())
        w.sync()
        with database.session() as session:
            service.set_schedule(session, jobs, "a", interval_seconds=120, enabled=False)
        w.sync()
        assert w.run_due() == []
        with database.session() as session:
            (row,) = service.schedule(session)
        assert (row["interval_seconds"], row["enabled"]) == (120, False)

    def test_an_unknown_job_name_is_refused(self, settings: Settings, database: Database) -> None:
        jobs = registry(Recorder(), ("a", 60, 0, False))
        w = worker(settings, database, jobs, "w1", Clock())
        w.sync()
        with pytest.raises(JobUnknown):
            w.run_named("nope")


class TestRunningDueJobs:
    def test_each_due_job_runs_once_then_waits_for_its_interval(
        self, settings: Settings, database: Database
    ) -> None:
        recorder = Recorder()
        clock = Clock()
        jobs = registry(recorder, ("hourly", 3600, 0, False), ("daily", 86400, 0, False))
        w = worker(settings, database, jobs, "w1", clock)
        w.sync()
        assert sorted(r.name for r in w.run_due()) == ["daily", "hourly"]
        assert w.run_due() == []
        clock.advance(minutes=59)
        assert w.run_due() == []
        clock.advance(minutes=1)
        assert [r.name for r in w.run_due()] == ["hourly"]
        assert (recorder.count("hourly"), recorder.count("daily")) == (2, 1)
        with database.session() as session:
            rows = {r["name"]: r for r in service.schedule(session)}
        assert rows["hourly"]["next_run_at"] == START.replace(hour=11)
        assert rows["hourly"]["runs"] == 2
        assert rows["hourly"]["last_status"] == "ok"
        assert rows["hourly"]["running_on"] is None

    def test_a_failing_job_is_recorded_released_and_rescheduled(
        self, settings: Settings, database: Database
    ) -> None:
        clock = Clock()
        jobs = registry(Recorder(), ("broken", 600, 0, True))
        w = worker(settings, database, jobs, "w1", clock)
        w.sync()
        (result,) = w.run_due()
        assert result.status == "failed"
        assert result.result == "RuntimeError: broken broke"
        with database.session() as session:
            (row,) = service.schedule(session)
            (run,) = service.repository.recent_runs(session, "broken")
        assert (row["last_status"], row["running_on"]) == ("failed", None)
        assert row["next_run_at"] == START.replace(minute=10)
        assert (run.status, run.worker, run.result) == (
            "failed",
            "w1",
            "RuntimeError: broken broke",
        )

    def test_a_known_error_is_recorded_by_its_code(
        self, settings: Settings, database: Database
    ) -> None:
        from tenure.errors import NotFound
        from tenure.jobs.registry import JobRegistry, JobSpec

        def missing(ctx: object) -> dict[str, object]:
            raise NotFound()

        jobs = JobRegistry([JobSpec("needs_data", 60, missing)])
        w = worker(settings, database, jobs, "w1", Clock())
        w.sync()
        (result,) = w.run_due()
        assert (result.status, result.result) == ("failed", "not_found: Not found.")


class TestLeases:
    def test_a_job_held_by_another_worker_is_refused_until_its_lease_ends(
        self, settings: Settings, database: Database
    ) -> None:
        clock = Clock()
        jobs = registry(Recorder(), ("a", 60, 0, False))
        first = worker(settings, database, jobs, "w1", clock, lease=300)
        second = worker(settings, database, jobs, "w2", clock, lease=300)
        first.sync()
        # w1 claims and then dies without releasing
        claim = database.write(lambda s: service.claim_due(s, jobs, "w1", clock(), 300))
        assert claim is not None
        clock.advance(minutes=2)
        with pytest.raises(JobRunning):
            second.run_named("a")
        assert second.run_due() == []
        clock.advance(minutes=4)
        assert [r.name for r in second.run_due()] == ["a"]

    def test_a_long_job_keeps_renewing_its_lease(
        self, settings: Settings, database: Database
    ) -> None:
        import threading

        recorder = Recorder()
        jobs = registry(recorder, ("slow", 3600, 1.5, False))
        first = worker(settings, database, jobs, "w1", lease=0.5)
        second = worker(settings, database, jobs, "w2", lease=0.5)
        first.sync()
        runner = threading.Thread(target=first.run_named, args=("slow",))
        runner.start()
        try:
            # Well past the first lease: only the heartbeat can still be holding it.
            threading.Event().wait(1.0)
            with pytest.raises(JobRunning):
                second.run_named("slow")
        finally:
            runner.join()
        assert recorder.count("slow") == 1
