"""Asserting problem+json refusals of malformed requests."""

from __future__ import annotations

from typing import Any


def assert_invalid(response: Any, *loc: str | int) -> dict[str, Any]:
    """A 422 validation_error problem whose errors name `loc`, e.g. ("path", "user_id")."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == "validation_error"
    named = [error["loc"] for error in body["errors"]]
    assert list(loc) in named, named
    return body
