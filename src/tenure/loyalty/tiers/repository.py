"""Queries on tier history."""

from __future__ import annotations

from sqlalchemy import func, select
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


def events_after(session: Session, after_id: int, kind: str, limit: int) -> list[TierEvent]:
    """Tier events of one kind recorded after an id, in order (a polling cursor)."""
    stmt = (
        select(TierEvent)
        .where(TierEvent.id > after_id, TierEvent.kind == kind)
        .order_by(TierEvent.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def last_event_id(session: Session) -> int:
    """The newest tier event's id (0 when none)."""
    return int(session.scalar(select(func.max(TierEvent.id))) or 0)
