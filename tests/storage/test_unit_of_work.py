"""The one unit of work: `Database.write` commits once, retries races, keeps recorded refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tenure.errors import TenureError
from tenure.segments.models import Segment
from tenure.storage.database import Database, Rejected

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _segment(key: str) -> Segment:
    return Segment(
        key=key, name=key, rule="{}", refresh_minutes=60, created_at=T0, updated_at=T0,
        next_refresh_at=T0,
    )  # fmt: skip


def _count(database: Database) -> int:
    return database.read(lambda s: s.scalar(select(func.count()).select_from(Segment)) or 0)


class Refused(TenureError):
    code = "refused"
    status = 409


class TestWrite:
    def test_the_work_commits_once_and_its_result_is_returned(self, database: Database) -> None:
        key = database.write(lambda s: (s.add(_segment("a")), "a")[1])
        assert key == "a"
        assert _count(database) == 1

    def test_an_error_rolls_everything_back(self, database: Database) -> None:
        def work(session: Session) -> None:
            session.add(_segment("a"))
            session.flush()
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            database.write(work)
        assert _count(database) == 0

    def test_a_unique_key_race_runs_the_whole_unit_again(self, database: Database) -> None:
        attempts: list[int] = []

        def work(session: Session) -> str:
            attempts.append(1)
            found = session.scalar(select(Segment).where(Segment.key == "a"))
            if found is not None:
                return "found the other writer's row"
            if len(attempts) == 1:  # a parallel writer commits the same key first
                with database.session() as other:
                    other.add(_segment("a"))
            session.add(_segment("a"))
            session.flush()
            return "inserted"

        assert database.write(work) == "found the other writer's row"
        assert len(attempts) == 2
        assert _count(database) == 1

    def test_a_race_that_never_ends_raises_after_the_last_attempt(self, database: Database) -> None:
        database.write(lambda s: s.add(_segment("a")))
        attempts: list[int] = []

        def work(session: Session) -> None:
            attempts.append(1)
            session.add(_segment("a"))
            session.flush()

        with pytest.raises(DBAPIError):
            database.write(work, attempts=3)
        assert len(attempts) == 3

    def test_a_rejection_keeps_what_the_work_recorded_and_raises_its_error(
        self, database: Database
    ) -> None:
        def work(session: Session) -> None:
            session.add(_segment("audit"))
            raise Rejected(Refused())

        with pytest.raises(Refused):
            database.write(work)
        assert _count(database) == 1


class TestRead:
    def test_nothing_a_read_does_persists(self, database: Database) -> None:
        database.read(lambda s: s.add(_segment("a")))
        assert _count(database) == 0


@pytest.mark.postgres
class TestSerialisationFailures:
    def test_a_serialisation_failure_is_retried(self, pg_url: str) -> None:
        database = Database(pg_url)
        attempts: list[int] = []

        def work(session: Session) -> int:
            attempts.append(1)
            if len(attempts) == 1:
                session.execute(text("DO $$ BEGIN RAISE EXCEPTION SQLSTATE '40001'; END $$"))
            return len(attempts)

        assert database.write(work) == 2

    def test_other_database_errors_are_raised_at_once(self, pg_url: str) -> None:
        database = Database(pg_url)
        attempts: list[int] = []

        def work(session: Session) -> None:
            attempts.append(1)
            session.execute(text("DO $$ BEGIN RAISE EXCEPTION SQLSTATE '22012'; END $$"))

        with pytest.raises(DBAPIError):
            database.write(work)
        assert len(attempts) == 1
