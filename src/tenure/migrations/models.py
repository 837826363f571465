"""Registry of every domain's SQLAlchemy models, so Alembic sees the whole schema."""

from __future__ import annotations


def import_all_models() -> None:
    """Import each domain's models module (they register themselves on Base.metadata)."""
