"""Recommendation errors, with stable codes."""

from __future__ import annotations

from tenure.errors import BadRequest, TenureError


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


class BadSessions(BadRequest):
    """A session file (OTTO's format) that cannot be read."""

    code = "recommend_bad_sessions"


class BadEvaluation(BadRequest):
    """The cut-off leaves no training data or no test purchases, or a model is unknown."""

    code = "recommend_bad_evaluation"
