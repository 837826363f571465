"""Queries on check-ins."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.loyalty.models import Checkin


def on_day(session: Session, user_id: str, day: date) -> Checkin | None:
    """The member's check-in on a local day."""
    stmt = select(Checkin).where(Checkin.user_id == user_id, Checkin.local_date == day)
    return session.scalars(stmt).first()


def between(session: Session, user_id: str, first: date, last: date) -> list[Checkin]:
    """Check-ins on local days first..last, in order."""
    stmt = (
        select(Checkin)
        .where(Checkin.user_id == user_id, Checkin.local_date >= first, Checkin.local_date <= last)
        .order_by(Checkin.local_date)
    )
    return list(session.scalars(stmt))
