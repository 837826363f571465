"""Authentication from API keys: Segment's basic auth (key as user name) or a bearer token."""

from __future__ import annotations

import base64
from collections.abc import Callable

from fastapi import Request

from tenure.apikeys.errors import MissingApiKey
from tenure.apikeys.service import Principal, authenticate
from tenure.storage.database import Database


def key_from_request(request: Request) -> str | None:
    """The API key sent with a request, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.split(":", 1)[0] or None
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return request.headers.get("x-api-key")


def principal(request: Request, body_key: str | None = None) -> Principal:
    """Who is calling; raises 401 for a missing or unknown key."""
    secret = key_from_request(request) or body_key
    if not secret:
        raise MissingApiKey()
    database: Database = request.app.state.database
    return database.read(lambda s: authenticate(s, secret))


def require(scope: str) -> Callable[[Request], Principal]:
    """A dependency that demands `scope`."""

    def dependency(request: Request) -> Principal:
        who = principal(request)
        who.require(scope)
        return who

    return dependency
