"""All queries on the tracking inbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tenure.ingest.tracking.models import InboxMessage


def insert_new(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping message ids already in the inbox."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    table = InboxMessage.__table__
    assert isinstance(table, Table)
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=["message_id"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["message_id"])
    else:  # pragma: no cover - other dialects are not supported stores
        raise NotImplementedError(dialect)
    session.execute(stmt, rows)


def oldest(session: Session, limit: int) -> list[InboxMessage]:
    """The oldest waiting messages."""
    return list(session.scalars(select(InboxMessage).order_by(InboxMessage.id).limit(limit)))


def remove(session: Session, ids: list[int]) -> None:
    """Delete flushed messages."""
    for start in range(0, len(ids), 10_000):
        chunk = ids[start : start + 10_000]
        session.execute(delete(InboxMessage).where(InboxMessage.id.in_(chunk)))


def waiting(session: Session) -> int:
    """How many messages wait to be flushed."""
    return int(session.scalar(select(func.count()).select_from(InboxMessage)) or 0)
