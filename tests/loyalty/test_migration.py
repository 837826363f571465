"""Migration 0005 creates exactly the tables the loyalty models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from tenure.migrations.models import import_all_models
from tenure.storage.database import Base, Database


def test_the_migrated_schema_matches_the_loyalty_models(database: Database) -> None:
    import_all_models()
    ours = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        if table.name.startswith("loyalty_"):
            table.to_metadata(ours)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, ours)
    # Other domains' tables show up as "remove_table" (not in our metadata); ignore those.
    ours_only = [
        d
        for d in diff
        if not (isinstance(d, tuple) and d[0] == "remove_table") and "loyalty_" in repr(d)
    ]
    assert ours_only == []
