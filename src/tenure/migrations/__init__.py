"""Alembic migrations of the operational database, and the registry of every domain's tables."""
