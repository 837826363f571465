"""The `weekly_review` job: the last complete week's review to every subscribed operator, in
their own language, at most once per (operator, week).

Before sending, one unit of work takes the (operator, week) row of `weekly_review_sends`: it
inserts it (the primary key refuses a second insert, so of two workers racing only one gets it;
`Database.write` reruns the loser, which then finds the row), or takes an existing row back by a
conditional UPDATE when its last try asked to be retried or its lease ran out. A row that is
`sent`, or `failed` for good, or leased by a live worker, is left alone: a rerun sends nothing.
The outcome is recorded in a second unit. A worker that dies between the server's acceptance and
that record leaves a lease that runs out, and the next run sends again, with the same Message-ID
so that a receiving server can drop the copy (the campaigns' outbox has the same window).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from tenure.campaigns.channels.base import Sender
from tenure.config import Settings
from tenure.operators.service import review_subscribers
from tenure.reports.weekly import repository
from tenure.reports.weekly.data import build_review, data_until
from tenure.reports.weekly.mail import Mail, compose, envelope, smtp_sender
from tenure.reports.weekly.models import WeeklyReviewSend
from tenure.reports.weekly.weeks import Week
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5
# Until a day after the week ends, wait for the data to reach its Sunday (a late import).
DATA_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class Recipient:
    """A subscribed operator."""

    operator_id: int
    address: str
    locale: str


def recipients(session: Session) -> list[Recipient]:
    """Enabled operators with an address who subscribed to the review."""
    return [Recipient(o.id, o.email, o.locale) for o in review_subscribers(session) if o.email]


def open_for(row: WeeklyReviewSend | None, now: datetime) -> bool:
    """Whether a (operator, week) still needs a send: never tried, asked to retry, or left
    by a worker whose lease ran out; not once sent, failed for good or out of tries."""
    if row is None:
        return True
    if row.status not in ("retry", "sending") or row.attempts >= MAX_ATTEMPTS:
        return False
    return row.lease_until is None or row.lease_until <= now


def claim(session: Session, person: Recipient, week: Week, now: datetime) -> bool:
    """Take the (operator, week) send for this worker; False when it is not to be sent now."""
    row = repository.get(session, person.operator_id, week.start)
    if row is None:
        repository.add(
            session,
            WeeklyReviewSend(
                operator_id=person.operator_id,
                week=week.start,
                status="sending",
                attempts=1,
                lease_until=now + LEASE,
                address=person.address,
                locale=person.locale,
                updated_at=now,
            ),
        )
        return True
    if not open_for(row, now):
        return False
    return repository.retake(
        session,
        person.operator_id,
        week.start,
        ("retry", "sending"),
        now,
        now + LEASE,
        person.address,
        person.locale,
    )


def send_reviews(
    settings: Settings,
    database: Database,
    warehouse: Warehouse,
    now: datetime,
    *,
    week: Week | None = None,
    sender: Sender | None = None,
    wait_for_data: bool = True,
) -> dict[str, Any]:
    """Send `week`'s review (default: the last complete week) to each subscribed operator that
    has not had it; returns the counts."""
    zone = settings.zone
    week = week or Week.of(now.astimezone(zone).date()).previous
    people = database.read(recipients)
    rows = database.read(lambda s: repository.of_week(s, week.start))
    due = [p for p in people if open_for(rows.get(p.operator_id), now)]
    counts: Counter[str] = Counter()
    report: dict[str, Any] = {"week": week.start.isoformat(), "subscribers": len(people)}
    if not due:
        return report | {"sent": 0}
    if wait_for_data and now < week.closes(zone) + DATA_GRACE:
        with warehouse.reader() as con:
            until = data_until(con, settings)
        if until is None or until < week.end:
            return report | {"sent": 0, "waiting_for_data": True}
    own = sender is None
    channel: Sender = smtp_sender(settings) if sender is None else sender
    try:
        review = build_review(settings, database, warehouse, week, now)
        mails: dict[str, Mail] = {}
        for person in due:
            if not database.write(partial(claim, person=person, week=week, now=now)):
                counts["taken"] += 1
                continue
            if person.locale not in mails:
                mails[person.locale] = compose(review, person.locale, settings)
            mail = mails[person.locale]
            outcome = channel.send(
                envelope(mail, person.address, person.locale, person.operator_id, week.start)
            )
            database.write(
                partial(
                    repository.settle,
                    operator_id=person.operator_id,
                    week=week.start,
                    status=outcome.status,
                    now=now,
                    provider_id=outcome.provider_id,
                    error=outcome.reason,
                )
            )
            counts[outcome.status] += 1
    finally:
        if own:
            channel.close()
    return report | {"sent": 0} | dict(counts)
