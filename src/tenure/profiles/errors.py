"""Profile errors."""

from __future__ import annotations

from tenure.errors import NotFound


class UserNotFound(NotFound):
    """No user, order or event with that user id."""

    code = "user_not_found"
