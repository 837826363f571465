"""Queries on weekly_review_sends; a send is taken by an insert or a conditional UPDATE."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tenure.reports.weekly.models import WeeklyReviewSend


def of_week(session: Session, week: date) -> dict[int, WeeklyReviewSend]:
    """Operator id -> the week's send row."""
    rows = session.scalars(select(WeeklyReviewSend).where(WeeklyReviewSend.week == week))
    return {row.operator_id: row for row in rows}


def get(session: Session, operator_id: int, week: date) -> WeeklyReviewSend | None:
    return session.get(WeeklyReviewSend, (operator_id, week))


def add(session: Session, row: WeeklyReviewSend) -> None:
    """Insert; a second insert of the same (operator, week) fails on the primary key."""
    session.add(row)
    session.flush()


def retake(
    session: Session,
    operator_id: int,
    week: date,
    statuses: tuple[str, ...],
    now: datetime,
    until: datetime,
    address: str,
    locale: str,
) -> bool:
    """Lease a row again when it is in one of `statuses` and no lease on it runs; False when
    another worker changed it first."""
    result = session.execute(
        update(WeeklyReviewSend)
        .where(
            WeeklyReviewSend.operator_id == operator_id,
            WeeklyReviewSend.week == week,
            WeeklyReviewSend.status.in_(statuses),
            or_(WeeklyReviewSend.lease_until.is_(None), WeeklyReviewSend.lease_until <= now),
        )
        .values(
            status="sending",
            attempts=WeeklyReviewSend.attempts + 1,
            lease_until=until,
            address=address,
            locale=locale,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def settle(
    session: Session,
    operator_id: int,
    week: date,
    status: str,
    now: datetime,
    provider_id: str | None,
    error: str | None,
) -> None:
    """Record how a send ended and release its lease."""
    session.execute(
        update(WeeklyReviewSend)
        .where(WeeklyReviewSend.operator_id == operator_id, WeeklyReviewSend.week == week)
        .values(
            status=status,
            lease_until=None,
            sent_at=now if status == "sent" else None,
            provider_id=provider_id,
            error=error,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
