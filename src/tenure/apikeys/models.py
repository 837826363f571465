"""API key table: only a hash of the secret is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime


class ApiKey(Base):
    """An API key: public prefix for display, SHA-256 of the secret for lookup, its scopes."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))  # space-separated
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ApiKeyState(Base):
    """One row: a generation that moves whenever a key is created or revoked. Every process
    reads it per request and trusts its cached key lookups only while it has not moved."""

    __tablename__ = "api_key_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)
