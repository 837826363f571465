"""Alembic environment: runs migrations against the configured operational database."""

from __future__ import annotations

from alembic import context

from tenure.migrations.models import import_all_models
from tenure.storage.database import Base, get_engine

import_all_models()
config = context.config


def run_migrations() -> None:
    """Run migrations online, in one transaction."""
    engine = get_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
