"""Migration 0015 creates exactly the tables the experiment models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tenure.migrations.models import import_all_models
from tenure.storage.database import Base, Database

OURS = ("experiment",)


def test_the_migrated_schema_matches_the_experiment_models(database: Database) -> None:
    import_all_models()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    flat = [d for group in diffs for d in (group if isinstance(group, list) else [group])]
    assert [d for d in flat if any(name in repr(d) for name in OURS)] == []
