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
    table = _table()
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=["message_id"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["message_id"])
    else:  # pragma: no cover - other dialects are not supported stores
        raise NotImplementedError(dialect)
    session.execute(stmt, rows)


def _table() -> Table:
    table = InboxMessage.__table__
    assert isinstance(table, Table)
    return table


def oldest(session: Session, limit: int) -> list[Any]:
    """The oldest waiting messages, as plain rows (no ORM identity map to keep in sync)."""
    table = _table()
    return list(session.execute(select(table).order_by(table.c.id).limit(limit)).all())


def remove(session: Session, ids: list[int]) -> None:
    """Delete flushed messages (a Core delete: no per-object bookkeeping, linear in ids)."""
    table = _table()
    for start in range(0, len(ids), 10_000):
        session.execute(delete(table).where(table.c.id.in_(ids[start : start + 10_000])))


def waiting(session: Session) -> int:
    """How many messages wait to be flushed."""
    return int(session.scalar(select(func.count()).select_from(InboxMessage)) or 0)
