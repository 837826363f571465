"""Due loyalty work: confirm pending points, release stale holds, expire lots, remind, review tiers.

Each step locks one member at a time, so jobs and checkouts interleave safely, and two workers
running the same job never double-post: each re-checks what is left under the lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.kit.ids import new_id
from tenure.loyalty import checkout, repository
from tenure.loyalty.ledger import book
from tenure.loyalty.models import ExpiryNotice, Lot
from tenure.loyalty.program import current_program
from tenure.loyalty.tiers import service as tiers
from tenure.storage.database import Database

log = logging.getLogger(__name__)
ReminderHook = Callable[[list[ExpiryNotice]], None]


def _move_lots(database: Database, kind: str, now: datetime) -> int:
    bucket, column = ("pending", "confirm_at") if kind == "confirm" else ("available", "expires_at")
    due = database.read(lambda s: repository.due_lots(s, bucket, column, now))
    moved = 0
    for user_id, lot_id in due:

        def work(session: Session, user_id: str = user_id, lot_id: str = lot_id) -> bool:
            repository.lock_account(session, user_id)
            lot = session.get(Lot, lot_id)
            assert lot is not None
            # Pending points never come back, so confirming has one key per lot; released
            # holds can refill an expired lot, so each expiry gets its own key.
            key = f"confirm:{lot_id}" if kind == "confirm" else f"expire:{lot_id}:{new_id('x', 6)}"
            return book.move_lot(session, lot, kind=kind, key=key, now=now) is not None

        moved += database.write(work)
    return moved


def confirm_pending(database: Database, now: datetime) -> int:
    """Make points spendable once their order's return window has closed."""
    return _move_lots(database, "confirm", now)


def expire_lots(database: Database, now: datetime) -> int:
    """Expire what is left of lots past their expiry."""
    return _move_lots(database, "expire", now)


def remind_expiring(database: Database, now: datetime, hook: ReminderHook | None = None) -> int:
    """Record one notice per lot expiring within the reminder window, then call the hook."""

    def work(session: Session) -> list[ExpiryNotice]:
        _, program = current_program(session)
        until = now + timedelta(days=program.reminder_days)
        rows = [
            ExpiryNotice(
                lot_id=lot.id,
                user_id=lot.user_id,
                points=left,
                expires_at=lot.expires_at,
                created_at=now,
            )
            for lot, left in repository.expiring_without_notice(session, now, until)
        ]
        repository.add(session, *rows)
        return rows

    rows = database.write(work) if _reminders_on(database) else []
    if rows and hook is not None:
        hook(rows)
    return len(rows)


def _reminders_on(database: Database) -> bool:
    return database.read(lambda s: current_program(s)[1].reminder_days > 0)


def release_stale(database: Database, now: datetime) -> int:
    """Give back points held by checkouts that neither confirmed nor released in time."""
    stale = database.read(lambda s: repository.stale_reservations(s, now))
    for _user_id, redemption_id in stale:

        def work(session: Session, redemption_id: str = redemption_id) -> None:
            checkout.settle(session, redemption_id, release=True, now=now)

        database.write(work)
    return len(stale)


def review_tiers(database: Database, zone: ZoneInfo, now: datetime) -> int:
    """Apply grace periods and downgrades; returns how many members changed tier."""
    users = database.read(lambda s: [a.user_id for a in repository.tiered_accounts(s)])
    changed = 0
    for user_id in users:

        def work(session: Session, user_id: str = user_id) -> bool:
            _, program = current_program(session)
            account = repository.lock_account(session, user_id)
            before = account.tier
            return tiers.review(session, program, account, now, zone) != before

        changed += database.write(work)
    return changed


@dataclass(frozen=True)
class DueResult:
    """What one run did."""

    confirmed: int
    expired: int
    reminded: int
    released: int
    tiers_changed: int

    def as_dict(self) -> dict[str, int]:
        """Counts by step."""
        return asdict(self)


def run_points_jobs(
    database: Database, now: datetime, hook: ReminderHook | None = None
) -> dict[str, int]:
    """The frequent jobs, in the order that keeps balances right (confirm before expire)."""
    return {
        "confirmed": confirm_pending(database, now),
        "released": release_stale(database, now),
        "expired": expire_lots(database, now),
        "reminded": remind_expiring(database, now, hook),
    }


def run_due(
    database: Database, zone: ZoneInfo, now: datetime, hook: ReminderHook | None = None
) -> DueResult:
    """Every loyalty job: the points jobs, then the tier review."""
    result = DueResult(
        **run_points_jobs(database, now, hook), tiers_changed=review_tiers(database, zone, now)
    )
    log.info("loyalty jobs: %s", result)
    return result
