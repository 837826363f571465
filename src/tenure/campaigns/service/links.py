"""Signed links in messages: the open pixel, click redirects and one-click unsubscribe.

A token carries the message id (and, for clicks, the target), signed with the shop's secret
for one purpose; a link cannot be turned into another kind of link or pointed elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from tenure.campaigns.errors import TokenInvalid
from tenure.config import Settings
from tenure.kit.signing import SignatureInvalid, load_or_create_key, sign, verify

PURPOSES = ("open", "click", "unsubscribe")


@dataclass(frozen=True)
class Links:
    """Builds the tracking links of one installation."""

    key: bytes
    base_url: str

    def _url(self, purpose: str, payload: dict[str, str | int]) -> str:
        token = sign(self.key, f"campaign:{purpose}", payload)
        return f"{self.base_url.rstrip('/')}/v1/t/{purpose}/{quote(token)}"

    def pixel(self, message_id: str) -> str:
        """The open-tracking pixel of a message."""
        return self._url("open", {"m": message_id})

    def click(self, message_id: str, target: str) -> str:
        """A redirect to `target` that records the click first."""
        return self._url("click", {"m": message_id, "u": target})

    def unsubscribe(self, message_id: str) -> str:
        """One-click unsubscribe from the message's channel (RFC 8058 for e-mail)."""
        return self._url("unsubscribe", {"m": message_id})


def read(key: bytes, purpose: str, token: str, now: datetime) -> dict[str, Any]:
    """A link's payload, or TokenInvalid."""
    if purpose not in PURPOSES:
        raise TokenInvalid()
    try:
        return verify(key, f"campaign:{purpose}", token, now)
    except SignatureInvalid:
        raise TokenInvalid() from None


def secret_key(settings: Settings) -> bytes:
    """TENURE_SECRET_KEY, or a random key kept in the home (created on first use)."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    return load_or_create_key(settings.home / "secret.key")


def links(settings: Settings) -> Links:
    """The tracking links of this installation."""
    return Links(secret_key(settings), settings.public_url)
