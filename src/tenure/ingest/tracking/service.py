"""Accepting tracking calls: validate each message, store the good ones durably, report the rest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from tenure.config import Settings
from tenure.errors import TenureError
from tenure.ingest.tracking import repository
from tenure.ingest.tracking.errors import (
    BatchPartiallyRejected,
    BatchTooLarge,
    InvalidMessage,
    MalformedJson,
    MessageTooLarge,
)
from tenure.ingest.tracking.messages import Normalised, _as_time, normalise
from tenure.kit.time import utc_now


@dataclass
class Accepted:
    """What a call stored and what it refused."""

    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def parse_body(body: bytes, limit: int, *, batch: bool) -> Any:
    """The JSON body, or a 400 naming the problem."""
    if len(body) > limit:
        raise (BatchTooLarge if batch else MessageTooLarge)(size=len(body), limit=limit)
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedJson(reason=str(exc)[:200]) from None


def track_one(session: Session, settings: Settings, kind: str, body: Any) -> Accepted:
    """Store a single message sent to /v1/{kind}."""
    if not isinstance(body, dict):
        raise InvalidMessage(field="body", reason="must be a JSON object")
    body = {**body, "type": kind}
    row = normalise(body, utc_now(), max_bytes=settings.max_message_bytes)
    repository.insert_new(session, [row.row()])
    return Accepted(accepted=1)


def track_batch(session: Session, settings: Settings, body: Any, body_size: int) -> Accepted:
    """Store every valid message of a /v1/batch call; raise with the rejects if there are any."""
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise InvalidMessage(field="batch", reason="must be an object with a batch array")
    received_at = utc_now()
    batch_sent_at = _as_time(body, "sentAt")
    shared_context = body.get("context") if isinstance(body.get("context"), dict) else None
    result = Accepted()
    rows: list[Normalised] = []
    # No message can be larger than the body that carries it.
    check_size = body_size > settings.max_message_bytes
    for index, message in enumerate(body["batch"]):
        if shared_context and isinstance(message, dict) and "context" not in message:
            message = {**message, "context": shared_context}
        try:
            rows.append(
                normalise(
                    message,
                    received_at,
                    max_bytes=settings.max_message_bytes,
                    check_size=check_size,
                    batch_sent_at=batch_sent_at,
                )
            )
        except TenureError as exc:
            message_id = message.get("messageId") if isinstance(message, dict) else None
            result.rejected.append(
                {"index": index, "messageId": message_id, "code": exc.code, "reason": exc.message}
            )
    repository.insert_new(session, [row.row() for row in rows])
    result.accepted = len(rows)
    return result


def raise_for_rejects(result: Accepted) -> None:
    """A batch with rejects answers 400 after its good messages are committed."""
    if result.rejected:
        raise BatchPartiallyRejected(result.accepted, result.rejected)
