"""One error family with stable machine codes, rendered as problem+json over HTTP."""

from __future__ import annotations

from typing import Any

from tenure.i18n import translate


class TenureError(Exception):
    """A user-facing error: a stable `code`, an HTTP `status` and the data behind it."""

    code = "tenure_error"
    status = 400

    def __init__(self, code: str | None = None, status: int | None = None, **data: Any) -> None:
        self.code = code or self.code
        self.status = status or self.status
        self.data = data
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The human message from the catalogue, filled with the error's data."""
        return translate(f"error.{self.code}", **self.data)


class BadRequest(TenureError):
    """The caller sent something malformed."""

    status = 400


class Unauthorized(TenureError):
    """No valid credentials."""

    code = "unauthorized"
    status = 401


class Forbidden(TenureError):
    """Valid credentials without the needed scope."""

    code = "forbidden"
    status = 403


class NotFound(TenureError):
    """The resource does not exist."""

    code = "not_found"
    status = 404


class Conflict(TenureError):
    """A business rule says no."""

    status = 409


class ConfigError(TenureError):
    """Tenure is set up wrongly (missing engine, bad URL)."""

    code = "config_error"
    status = 500
