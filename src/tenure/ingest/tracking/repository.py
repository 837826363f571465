"""All queries on the tracking inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from tenure.ingest.tracking.models import InboxBatch


def _table() -> Table:
    table = InboxBatch.__table__
    assert isinstance(table, Table)
    return table


def add(session: Session, received_at: datetime, count: int, messages: str) -> None:
    """Store the lines of one call (a Core insert: no ORM bookkeeping on the request path)."""
    session.execute(
        insert(_table()).values(received_at=received_at, count=count, messages=messages)
    )


def oldest(session: Session, max_messages: int) -> list[tuple[int, str]]:
    """The oldest waiting rows as (id, lines): about `max_messages` messages, at least one row."""
    table = _table()
    heads = session.execute(select(table.c.id, table.c.count).order_by(table.c.id).limit(10_000))
    ids: list[int] = []
    total = 0
    for row_id, count in heads:
        if ids and total + count > max_messages:
            break
        ids.append(row_id)
        total += count
    if not ids:
        return []
    rows = session.execute(
        select(table.c.id, table.c.messages).where(table.c.id.in_(ids)).order_by(table.c.id)
    )
    return [(row_id, messages) for row_id, messages in rows]


def remove(session: Session, ids: list[int]) -> None:
    """Delete flushed rows by id (never by range: a lower id may commit later on PostgreSQL)."""
    table = _table()
    for start in range(0, len(ids), 10_000):
        session.execute(delete(table).where(table.c.id.in_(ids[start : start + 10_000])))


def waiting(session: Session) -> int:
    """How many messages wait to be flushed."""
    return int(session.scalar(select(func.coalesce(func.sum(_table().c.count), 0))) or 0)
