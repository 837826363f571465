"""All queries on api_keys."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.apikeys.models import ApiKey


def add(session: Session, key: ApiKey) -> None:
    """Stage a new key."""
    session.add(key)
    session.flush()


def by_hash(session: Session, secret_hash: str) -> ApiKey | None:
    """The active-or-revoked key with this secret hash."""
    return session.scalars(select(ApiKey).where(ApiKey.secret_hash == secret_hash)).first()


def by_id(session: Session, key_id: str) -> ApiKey | None:
    """The key with this id."""
    return session.get(ApiKey, key_id)


def all_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())))
