"""Builders for referral tests: a program with overrides and one-line units of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenure.loyalty.models import Entry
from tenure.referrals import config, jobs, service
from tenure.referrals.config import Program
from tenure.referrals.models import Decision, Reward
from tenure.storage.database import Database

T = TypeVar("T")
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def configure(database: Database, **changes: Any) -> Program:
    """Save the default program with `changes` applied."""
    return database.write(lambda s: config.save_program(s, changes, T0)[1])


def write(database: Database, work: Callable[[Session, Program], T]) -> T:
    """Run `work` in a committed unit of work with the live program."""
    return database.write(lambda s: work(s, config.current_program(s)[1]))


def read(database: Database, work: Callable[[Session], T]) -> T:
    """Run `work` read-only."""
    return database.read(work)


def code_of(database: Database, user: str, **fingerprints: str) -> str:
    """The user's invite code."""
    return write(database, lambda s, p: service.code_for(s, user, T0, **fingerprints).code)


def signup(
    database: Database, invitee: str, code: str, at: datetime = T0, **fingerprints: str
) -> service.Attribution:
    """Attribute `invitee` through `code` at `at`."""
    return write(database, lambda s, p: service.attribute(s, p, code, invitee, at, **fingerprints))


def order(
    database: Database,
    order_id: str,
    user: str,
    amount: int = 5_000,
    paid_at: datetime = T0,
    payment: str | None = None,
) -> service.OrderOutcome:
    """Report a paid USD order."""
    return write(
        database,
        lambda s, p: service.record_order(
            s, p, "USD", order_id, user, paid_at, amount, "USD", paid_at, payment
        ),
    )


def run_due(database: Database, now: datetime) -> dict[str, Any]:
    """The due job at `now`."""
    return jobs.run_due(database, UTC_ZONE, now)


def after_window(days: int = 14) -> datetime:
    """A moment just past a `days`-day return window that started at T0."""
    return T0 + timedelta(days=days, seconds=1)


def rewards(database: Database, user: str) -> list[tuple[str, str, int]]:
    """(side, status, points) of every reward row a user has."""
    stmt = select(Reward.side, Reward.status, Reward.points).where(Reward.user_id == user)
    return read(database, lambda s: sorted(tuple(r) for r in s.execute(stmt)))  # type: ignore[misc]


def loyalty_points(database: Database, user: str) -> int:
    """Independent check: the raw sum of the member's loyalty entries, all buckets."""
    stmt = select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.user_id == user)
    return int(read(database, lambda s: s.scalar(stmt)))


def decisions(database: Database) -> list[tuple[str, str, str]]:
    """(rule, action, invitee) of every recorded decision, oldest first."""
    stmt = select(Decision.rule, Decision.action, Decision.invitee_id).order_by(Decision.id)
    return read(database, lambda s: [tuple(r) for r in s.execute(stmt)])  # type: ignore[misc]
