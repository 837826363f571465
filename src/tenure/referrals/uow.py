"""Units of work for referrals: serialised writers, a retry on key races, kept rejections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tenure.errors import TenureError
from tenure.storage.database import Database

T = TypeVar("T")


class Rejected(Exception):
    """A rule said no after recording why: the record commits, then `error` is raised."""

    def __init__(self, error: TenureError) -> None:
        super().__init__(error.code)
        self.error = error


def write(database: Database, work: Callable[[Session], T], attempts: int = 3) -> T:
    """Run `work` in one committed transaction.

    SQLite: the process-wide write lock serialises writers; PostgreSQL: the work locks the rows it
    changes. When a parallel request inserts the same unique row (an invitee, a code, a member)
    first, we roll back and run again; the second run finds that row and answers from it.
    """
    for attempt in range(attempts):
        refusal: TenureError | None = None
        try:
            with database.write_lock, database.session() as session:
                try:
                    result = work(session)
                except Rejected as rejected:
                    # Keep the decision the rule recorded; only the change it refused is absent.
                    refusal = rejected.error
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            continue
        if refusal is not None:
            raise refusal
        return result
    raise AssertionError("unreachable")


def read(database: Database, work: Callable[[Session], T]) -> T:
    """Run read-only `work` in its own session."""
    with database.session() as session:
        return work(session)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime from the database (SQLite hands back naive UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
