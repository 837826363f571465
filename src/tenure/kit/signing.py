"""Compact signed tokens for links (tracking, unsubscribe, later the console's CSRF).

A token is `base64url(body) + "." + base64url(mac)[:32]`, both without padding. The body is
compact JSON of the payload, plus `"exp"` (Unix seconds) when the token expires. The MAC is
HMAC-SHA256 over `purpose + "." + body`: a token signed for one purpose (say "unsubscribe") is
refused for every other, even though all purposes share one key. 32 base64 characters keep 192
bits of the MAC, plenty against forgery and short enough for a link in an SMS.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

KEY_BYTES = 32
_MAC_CHARS = 32
_EXPIRY = "exp"


class SignatureInvalid(ValueError):
    """The token is malformed, forged, for another purpose, or expired; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, body: str) -> str:
    digest = hmac.new(key, f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    return _encode(digest)[:_MAC_CHARS]


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def sign(
    key: bytes,
    purpose: str,
    payload: Mapping[str, str | int],
    *,
    expires_at: datetime | None = None,
) -> str:
    """A URL-safe token carrying `payload`, valid only for `purpose` (and until `expires_at`)."""
    if _EXPIRY in payload:
        raise ValueError(f"{_EXPIRY!r} is reserved for the expiry")
    claims: dict[str, str | int] = dict(payload)
    if expires_at is not None:
        # Whole seconds, rounded up, so a token never lives shorter than asked.
        stamp = _aware(expires_at, "expires_at").timestamp()
        claims[_EXPIRY] = int(stamp) + (stamp % 1 > 0)
    text = json.dumps(claims, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    body = _encode(text.encode("utf-8"))
    return f"{body}.{_mac(key, purpose, body)}"


def verify(key: bytes, purpose: str, token: str, now: datetime) -> dict[str, Any]:
    """The payload of a token signed with `key` for `purpose`, or `SignatureInvalid`."""
    body, dot, mac = token.partition(".")
    if not dot or not body or len(mac) != _MAC_CHARS or not token.isascii():
        raise SignatureInvalid("malformed")
    # Compared before the body is parsed, so nothing an attacker wrote is read unsigned.
    if not hmac.compare_digest(mac, _mac(key, purpose, body)):
        raise SignatureInvalid("bad_signature")
    try:
        claims = json.loads(_decode(body).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise SignatureInvalid("malformed") from error
    if not isinstance(claims, dict):
        raise SignatureInvalid("malformed")
    expiry = claims.pop(_EXPIRY, None)
    if expiry is not None and not isinstance(expiry, int):
        raise SignatureInvalid("malformed")
    if expiry is not None and _aware(now, "now").timestamp() >= expiry:
        raise SignatureInvalid("expired")
    return claims


def load_or_create_key(path: Path) -> bytes:
    """The key stored at `path`, made (32 random bytes, mode 0o600) on first use.

    Safe against a concurrent creator: each writes its own temporary file and `os.link`s it into
    place, which fails if the name exists, so exactly one key wins and every process reads it.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        # A complete file appears under the name at once, or not at all: a reader never sees
        # a half-written key.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) < KEY_BYTES:
        raise ValueError(f"signing key {path} is shorter than {KEY_BYTES} bytes")
    return key
