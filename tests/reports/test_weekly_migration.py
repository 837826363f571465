"""Migration 0017 creates exactly the table the model describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tenure.migrations.models import import_all_models
from tenure.reports.weekly import models  # noqa: F401 (registers the table)
from tenure.storage.database import Base, Database


def test_the_migrated_schema_matches_the_weekly_review_model(database: Database) -> None:
    import_all_models()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    flat = [d for group in diffs for d in (group if isinstance(group, list) else [group])]
    assert [d for d in flat if "weekly_review_sends" in repr(d)] == []
    with database.engine.connect() as connection:
        names = connection.dialect.get_table_names(connection)  # type: ignore[attr-defined]
    assert "weekly_review_sends" in names
