"""API key errors."""

from __future__ import annotations

from tenure.errors import BadRequest, Forbidden, NotFound, Unauthorized


class InvalidApiKey(Unauthorized):
    """The key is unknown or revoked."""

    code = "invalid_api_key"


class MissingApiKey(Unauthorized):
    """No key was sent."""

    code = "missing_api_key"


class ScopeRequired(Forbidden):
    """The key lacks the scope the endpoint needs."""

    code = "scope_required"


class UnknownScope(BadRequest):
    """A scope name that does not exist."""

    code = "unknown_scope"


class ApiKeyNotFound(NotFound):
    """No key with that id."""

    code = "api_key_not_found"
