"""Column types shared by every domain's models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from tenure.kit.time import as_utc


class UtcDateTime(TypeDecorator[datetime]):
    """An instant: written from an aware datetime as UTC, read back as an aware UTC datetime.

    The DDL type is `DateTime(timezone=True)` (TIMESTAMP WITH TIME ZONE on PostgreSQL), so
    migrations see no difference. SQLite keeps only the wall-clock text and hands it back
    naive: normalising to UTC on the way in makes that text UTC, and it is read back as UTC.
    A naive datetime is refused rather than guessed at: convert input at its source
    (`tenure.kit.time.as_utc`).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Refuse a naive datetime; store UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UtcDateTime needs a datetime, not {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """An aware UTC datetime (a naive one from SQLite is UTC by construction)."""
        return None if value is None else as_utc(value)
