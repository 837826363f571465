"""Time helpers: aware UTC now, and conversions used by ingestion."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def parse_iso(value: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (naive input is taken as UTC)."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime from input; a naive one is taken as UTC (columns read back as
    aware UTC already: `tenure.storage.types.UtcDateTime`)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
