"""Tracking API errors."""

from __future__ import annotations

from typing import Any

from tenure.errors import BadRequest


class MalformedJson(BadRequest):
    """The body is not JSON."""

    code = "malformed_json"


class BatchTooLarge(BadRequest):
    """The batch body is over the batch limit."""

    code = "batch_too_large"


class MessageTooLarge(BadRequest):
    """A single message is over the message limit."""

    code = "message_too_large"


class InvalidMessage(BadRequest):
    """A message breaks Segment's rules (e.g. no userId nor anonymousId)."""

    code = "invalid_message"


class BatchPartiallyRejected(BadRequest):
    """Some messages of a batch were rejected; the others were stored."""

    code = "batch_partially_rejected"

    def __init__(self, accepted: int, rejected: list[dict[str, Any]]) -> None:
        super().__init__(accepted=accepted, rejected_count=len(rejected), rejected=rejected)
