"""Creating, checking and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tenure.apikeys import repository
from tenure.apikeys.errors import ApiKeyNotFound, InvalidApiKey, ScopeRequired, UnknownScope
from tenure.apikeys.models import ApiKey
from tenure.kit.ids import new_id
from tenure.kit.time import utc_now

# `admin` includes `server`, which includes `write`.
SCOPES = ("write", "server", "admin")
_IMPLIED = {"write": {"write"}, "server": {"write", "server"}, "admin": set(SCOPES)}
_CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key id and the scopes it grants."""

    key_id: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        """Raise unless this principal holds `scope`."""
        if scope not in self.scopes:
            raise ScopeRequired(scope=scope)


@dataclass(frozen=True)
class CreatedKey:
    """A new key; `secret` is shown once and never stored."""

    id: str
    name: str
    scopes: tuple[str, ...]
    secret: str


def hash_secret(secret: str) -> str:
    """SHA-256 of a key: keys are 256-bit random, so a fast hash is the right tool."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, scopes: list[str]) -> CreatedKey:
    """Create a key with the given scopes."""
    for scope in scopes:
        if scope not in SCOPES:
            raise UnknownScope(scope=scope, allowed=", ".join(SCOPES))
    main_scope = max(scopes, key=SCOPES.index)
    secret = f"tnr_{main_scope}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        id=new_id("key", 8),
        name=name,
        prefix=secret[:12],
        secret_hash=hash_secret(secret),
        scopes=" ".join(sorted(set(scopes), key=SCOPES.index)),
        created_at=utc_now(),
    )
    repository.add(session, key)
    repository.bump_generation(session)
    return CreatedKey(key.id, name, tuple(key.scopes.split()), secret)


def revoke_key(session: Session, key_id: str) -> None:
    """Revoke a key; every process refuses it from its next request after the commit."""
    key = repository.by_id(session, key_id)
    if key is None:
        raise ApiKeyNotFound(key_id=key_id)
    key.revoked_at = utc_now()
    repository.bump_generation(session)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first."""
    return repository.all_keys(session)


class _PrincipalCache:
    """Key lookups of this process, valid while the key generation they were made at is current.

    Authentication runs on every tracking call. A cached answer costs one read of the one-row
    generation instead of a key lookup; a create or a revoke anywhere moves the generation in the
    same transaction, so every process looks keys up afresh from its next request on.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = -1
        self._items: dict[str, Principal | None] = {}

    def get(self, digest: str, generation: int) -> tuple[bool, Principal | None]:
        with self._lock:
            if generation != self._generation:
                return False, None
            return digest in self._items, self._items.get(digest)

    def put(self, digest: str, generation: int, principal: Principal | None) -> None:
        with self._lock:
            if generation != self._generation or len(self._items) >= _CACHE_ENTRIES:
                self._items.clear()
                self._generation = generation
            self._items[digest] = principal


_cache = _PrincipalCache()


def authenticate(session: Session, secret: str) -> Principal:
    """The principal of a key, or InvalidApiKey; a revoked key fails on the next request."""
    digest = hash_secret(secret)
    generation = repository.generation(session)
    found, principal = _cache.get(digest, generation)
    if not found:
        key = repository.by_hash(session, digest)
        principal = None
        if key is not None and key.revoked_at is None:
            granted: set[str] = set()
            for scope in key.scopes.split():
                granted |= _IMPLIED.get(scope, set())
            principal = Principal(key.id, frozenset(granted))
        _cache.put(digest, generation, principal)
    if principal is None:
        raise InvalidApiKey()
    return principal
