"""All queries on the ingestion warnings."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tenure.ingest.warnings.models import IngestionWarning


def find(session: Session, day: date, source: str, reason: str) -> IngestionWarning | None:
    """The row of one day, source and reason, locked for the update (PostgreSQL)."""
    return session.scalar(
        select(IngestionWarning)
        .where(
            IngestionWarning.day == day,
            IngestionWarning.source == source,
            IngestionWarning.reason == reason,
        )
        .with_for_update()
    )


def add(session: Session, row: IngestionWarning) -> None:
    """Insert a new row (a concurrent insert of the same key makes the unit of work retry)."""
    session.add(row)
    session.flush()


def prune(session: Session, before: date) -> None:
    """Forget the days before `before`."""
    session.execute(delete(IngestionWarning).where(IngestionWarning.day < before))


def since(session: Session, first_day: date, limit: int) -> list[IngestionWarning]:
    """Rows from `first_day` on, newest day first."""
    rows = session.scalars(
        select(IngestionWarning)
        .where(IngestionWarning.day >= first_day)
        .order_by(IngestionWarning.day.desc(), IngestionWarning.source, IngestionWarning.reason)
        .limit(limit)
    )
    return list(rows)
