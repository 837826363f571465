"""Refusals of the operator accounts."""

from __future__ import annotations

from tenure.errors import TenureError


class OperatorExists(TenureError):
    def __init__(self, username: str) -> None:
        super().__init__("operator_exists", 409, username=username)


class OperatorNotFound(TenureError):
    def __init__(self, username: str) -> None:
        super().__init__("operator_not_found", 404, username=username)


class OperatorInvalid(TenureError):
    """A username, password, role, locale or e-mail the account cannot take."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__("operator_invalid", 400, field=field, reason=reason)
