"""Registry of every domain's SQLAlchemy models, so Alembic sees the whole schema."""

from __future__ import annotations


def import_all_models() -> None:
    """Import each domain's models module (they register themselves on Base.metadata)."""
    import tenure.apikeys.models
    import tenure.campaigns.models
    import tenure.experiments.models
    import tenure.ingest.tracking.models
    import tenure.ingest.warnings.models
    import tenure.jobs.models
    import tenure.loyalty.models
    import tenure.operators.models
    import tenure.promotions.models
    import tenure.referrals.models
    import tenure.reports.weekly.models
    import tenure.segments.models  # noqa: F401
