"""Registry of every domain's SQLAlchemy models, so Alembic sees the whole schema."""

from __future__ import annotations


def import_all_models() -> None:
    """Import each domain's models module (they register themselves on Base.metadata)."""
    import tenure.apikeys.models
    import tenure.ingest.tracking.models  # noqa: F401
    import tenure.jobs.models  # noqa: F401
    import tenure.loyalty.models  # noqa: F401
    import tenure.promotions.models  # noqa: F401
    import tenure.referrals.models  # noqa: F401
    import tenure.segments.models  # noqa: F401
