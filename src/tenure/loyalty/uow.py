"""Units of work for loyalty mutations: serialised per member, retried once on a key race."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tenure.storage.database import Database

T = TypeVar("T")


def write(database: Database, work: Callable[[Session], T], attempts: int = 3) -> T:
    """Run `work` in one committed transaction.

    On SQLite the process-wide write lock serialises writers; on PostgreSQL the work locks the
    member's account row itself. When a concurrent request with the same idempotency key (or the
    same check-in day) commits first, our insert hits the unique constraint: we roll back and run
    again, and the second run finds the first result and replays it.
    """
    for attempt in range(attempts):
        try:
            with database.write_lock, database.session() as session:
                return work(session)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def read(database: Database, work: Callable[[Session], T]) -> T:
    """Run read-only `work` in its own session."""
    with database.session() as session:
        return work(session)
