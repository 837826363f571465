"""Tracking API errors."""

from __future__ import annotations

from typing import Any

from tenure.errors import BadRequest, TenureError
from tenure.ingest.warnings.service import Decision


class MalformedJson(BadRequest):
    """The body is not JSON."""

    code = "malformed_json"


class BatchTooLarge(BadRequest):
    """The batch body is over the batch limit."""

    code = "batch_too_large"


class MessageTooLarge(BadRequest):
    """A single message is over the message limit."""

    code = "message_too_large"


class BodyTooLarge(TenureError):
    """A compressed body inflates past the limit (a decompression bomb is refused, not read)."""

    code = "body_too_large"
    status = 413


class UnsupportedEncoding(TenureError):
    """A Content-Encoding other than gzip (or identity)."""

    code = "unsupported_encoding"
    status = 415


class MalformedGzip(BadRequest):
    """The body says gzip but is not a complete gzip stream."""

    code = "malformed_gzip"


class InvalidMessage(BadRequest):
    """A message breaks Segment's rules (e.g. no userId nor anonymousId)."""

    code = "invalid_message"


class ImplausibleTimestamp(BadRequest):
    """A message's time is before the earliest plausible time (TENURE_EARLIEST_EVENT_TIME)."""

    code = "implausible_timestamp"

    def __init__(self, decision: Decision, **data: Any) -> None:
        super().__init__(**data)
        self.decision = decision  # recorded in ingestion_warnings by the caller


class BatchPartiallyRejected(BadRequest):
    """Some messages of a batch were rejected; the others were stored."""

    code = "batch_partially_rejected"

    def __init__(self, accepted: int, rejected: list[dict[str, Any]]) -> None:
        super().__init__(accepted=accepted, rejected_count=len(rejected), rejected=rejected)
