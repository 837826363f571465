"""Builders for loyalty tests: a program with overrides, and one-line unit-of-work helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenure.loyalty import points, repository
from tenure.loyalty.models import Entry
from tenure.loyalty.program import Program, current_program, save_program
from tenure.storage.database import Database

T = TypeVar("T")
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def configure(database: Database, **changes: Any) -> Program:
    """Save the default program with `changes` applied; no action bonuses unless asked for."""
    doc: dict[str, Any] = {"actions": {}, **changes}
    return database.write(lambda s: save_program(s, doc, T0)[1])


def write(database: Database, work: Callable[[Session, Program], T]) -> T:
    """Run `work` in a committed unit of work with the live program."""
    return database.write(lambda s: work(s, current_program(s)[1]))


def read(database: Database, work: Callable[[Session, Program], T]) -> T:
    """Run `work` read-only with the live program."""
    return database.read(lambda s: work(s, current_program(s)[1]))


def grant(database: Database, user: str, amount: int, at: datetime = T0, key: str = "") -> None:
    """Give a member a lot of `amount` points at `at`."""
    write(
        database,
        lambda s, p: points.adjust(
            s, p, user, amount, "test", key or f"g:{user}:{at}:{amount}", at
        ),
    )


def balances(database: Database, user: str) -> repository.Balances:
    """The member's balances."""
    return database.read(lambda s: repository.balances(s, user))


def entry_sum(database: Database, user: str, bucket: str = "available") -> int:
    """Independent check: the raw sum of the member's entries in a bucket."""
    stmt = select(func.coalesce(func.sum(Entry.points), 0)).where(
        Entry.user_id == user, Entry.bucket == bucket
    )
    return int(database.read(lambda s: s.scalar(stmt)))
