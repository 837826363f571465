"""Validating and normalising Segment messages (Segment's HTTP Tracking API field names)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenure.ingest.tracking.errors import InvalidMessage, MessageTooLarge
from tenure.kit.time import parse_iso

TYPES = ("identify", "track", "page", "screen", "group", "alias")
_ID_LIMIT = 200


@dataclass(frozen=True)
class Normalised:
    """A message as stored in the inbox."""

    message_id: str
    type: str
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    name: str | None
    ts: datetime
    received_at: datetime
    payload: str

    def row(self) -> dict[str, Any]:
        """The inbox row."""
        return self.__dict__.copy()


def _as_id(message: dict[str, Any], field: str) -> str | None:
    value = message.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidMessage(field=field, reason="must be a string")
    text = str(value)
    if len(text) > _ID_LIMIT:
        raise InvalidMessage(field=field, reason=f"longer than {_ID_LIMIT} characters")
    return text


def _as_time(message: dict[str, Any], field: str) -> datetime | None:
    value = message.get(field)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidMessage(field=field, reason="must be an ISO-8601 string")
    try:
        return parse_iso(value)
    except ValueError:
        raise InvalidMessage(field=field, reason=f"not an ISO-8601 time: {value[:40]}") from None


def _as_object(message: dict[str, Any], field: str) -> dict[str, Any]:
    value = message.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidMessage(field=field, reason="must be an object")
    return value


def event_time(
    message: dict[str, Any], received_at: datetime, batch_sent_at: datetime | None
) -> datetime:
    """Segment's clock-skew correction: timestamp + (receivedAt - sentAt)."""
    client_time = _as_time(message, "timestamp") or _as_time(message, "originalTimestamp")
    sent_at = _as_time(message, "sentAt") or batch_sent_at
    if client_time is None:
        return received_at
    if sent_at is None:
        return client_time
    return client_time + (received_at - sent_at)


def normalise(
    message: Any,
    received_at: datetime,
    *,
    max_bytes: int,
    check_size: bool = True,
    batch_sent_at: datetime | None = None,
    default_type: str | None = None,
) -> Normalised:
    """Validate one message and turn it into an inbox row, or raise a reason."""
    if not isinstance(message, dict):
        raise InvalidMessage(field="message", reason="must be a JSON object")
    if check_size:
        size = len(json.dumps(message, separators=(",", ":"), default=str).encode("utf-8"))
        if size > max_bytes:
            raise MessageTooLarge(size=size, limit=max_bytes)
    kind = message.get("type") or default_type
    if kind not in TYPES:
        raise InvalidMessage(field="type", reason=f"must be one of {', '.join(TYPES)}")
    user_id = _as_id(message, "userId")
    anonymous_id = _as_id(message, "anonymousId")
    previous_id = _as_id(message, "previousId")
    if kind == "alias":
        if not (previous_id and user_id):
            raise InvalidMessage(field="previousId", reason="alias needs previousId and userId")
    elif not (user_id or anonymous_id):
        raise InvalidMessage(field="userId", reason="userId or anonymousId is required")
    name: str | None = None
    if kind == "track":
        event = message.get("event")
        if not isinstance(event, str) or not event.strip():
            raise InvalidMessage(field="event", reason="track needs a non-empty event name")
        name = event.strip()[:500]
    elif kind in ("page", "screen"):
        raw = message.get("name")
        name = str(raw)[:500] if raw else None
    payload: dict[str, Any] = {
        "properties": _as_object(message, "properties"),
        "traits": _as_object(message, "traits"),
        "context": _as_object(message, "context"),
    }
    if kind == "identify" and not payload["traits"]:
        payload["traits"] = payload["context"].get("traits") or {}
    if kind == "group":
        payload["group_id"] = _as_id(message, "groupId")
        if not payload["group_id"]:
            raise InvalidMessage(field="groupId", reason="group needs a groupId")
    message_id = _as_id(message, "messageId") or f"srv-{uuid.uuid4()}"
    return Normalised(
        message_id=message_id,
        type=kind,
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        name=name,
        ts=event_time(message, received_at, batch_sent_at),
        received_at=received_at,
        payload=json.dumps(payload, separators=(",", ":"), default=str),
    )
