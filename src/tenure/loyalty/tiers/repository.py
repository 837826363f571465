"""Queries on tier history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.loyalty.models import TierEvent


def add_event(session: Session, event: TierEvent) -> None:
    """Record a tier change."""
    session.add(event)
    session.flush()


def events(session: Session, user_id: str, limit: int = 50) -> list[TierEvent]:
    """A member's tier history, newest first."""
    stmt = (
        select(TierEvent)
        .where(TierEvent.user_id == user_id)
        .order_by(TierEvent.at.desc(), TierEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
