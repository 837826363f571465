"""Identifiers: random public ids and deterministic content hashes."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str, nbytes: int = 12) -> str:
    """A random URL-safe id with a readable prefix."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def content_hash(*parts: object) -> str:
    """A stable hex digest of the parts, used to derive idempotency keys from content."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()[:32]
