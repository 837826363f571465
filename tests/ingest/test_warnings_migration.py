"""Migration 0013 creates exactly the ingestion_warnings table the model describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tenure.migrations.models import import_all_models
from tenure.storage.database import Base, Database


def test_the_migrated_schema_matches_the_models(database: Database) -> None:
    import_all_models()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    flat = [d for group in diffs for d in (group if isinstance(group, list) else [group])]
    assert [d for d in flat if "ingestion_warnings" in repr(d)] == []
