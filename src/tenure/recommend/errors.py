"""Recommendation errors, with stable codes."""

from __future__ import annotations

from tenure.errors import TenureError


class NotTrained(TenureError):
    """No recommendation model has been trained yet."""

    code = "recommend_not_trained"
    status = 409


class NoData(TenureError):
    """The warehouse holds no purchases or product events to learn from."""

    code = "recommend_no_data"
    status = 409


class UnknownItem(TenureError):
    """The SKU is not in the trained catalogue."""

    code = "recommend_unknown_item"
    status = 404
