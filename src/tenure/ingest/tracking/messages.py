"""Validating and normalising Segment messages (Segment's HTTP Tracking API field names)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from tenure.ingest.tracking.errors import ImplausibleTimestamp, InvalidMessage, MessageTooLarge
from tenure.ingest.warnings.service import FUTURE_CLAMPED, TOO_EARLY, TRACKING, Decision
from tenure.kit.time import parse_iso
from tenure.storage.plausible import TimeWindow

TYPES = frozenset(("identify", "track", "page", "screen", "group", "alias"))
_ID_LIMIT = 200
_NAME_LIMIT = 500
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def _as_id(message: dict[str, Any], field: str) -> str | None:
    value = message.get(field)
    if value is None or value == "":
        return None
    if type(value) is not str:  # exact: bool is an int subclass
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidMessage(field=field, reason="must be a string")
        value = str(value)
    if len(value) > _ID_LIMIT:
        raise InvalidMessage(field=field, reason=f"longer than {_ID_LIMIT} characters")
    return value


def as_time(message: dict[str, Any], field: str) -> datetime | None:
    """An ISO-8601 field as an aware UTC datetime, or a 400 naming the field."""
    value = message.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidMessage(field=field, reason="must be an ISO-8601 string")
    try:
        return parse_iso(value)
    except ValueError:
        raise InvalidMessage(field=field, reason=f"not an ISO-8601 time: {value[:40]}") from None


def _as_json(message: dict[str, Any], field: str) -> str | None:
    """An object field kept as compact JSON text (the warehouse stores it as such)."""
    value = message.get(field)
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise InvalidMessage(field=field, reason="must be an object")
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError) as exc:  # e.g. integers beyond 64 bits
        raise InvalidMessage(field=field, reason=str(exc)[:200]) from None


def event_time(
    message: dict[str, Any], received_at: datetime, batch_sent_at: datetime | None
) -> datetime:
    """Segment's clock-skew correction: timestamp + (receivedAt - sentAt).

    A correction past either end of the calendar (a sentAt millennia away from the timestamp)
    ends at that end; `plausible_time` then clamps or refuses it.
    """
    client_time = as_time(message, "timestamp") or as_time(message, "originalTimestamp")
    if client_time is None:
        return received_at
    sent_at = as_time(message, "sentAt") or batch_sent_at
    if sent_at is None:
        return client_time
    try:
        return client_time + (received_at - sent_at)
    except OverflowError:
        return _LAST if received_at > sent_at else _FIRST


def _example(message: dict[str, Any], batch_sent_at: datetime | None) -> dict[str, Any]:
    """What identifies a message in ingestion_warnings: its id, event and times as sent."""
    context = message.get("context")
    library = context.get("library") if isinstance(context, dict) else None
    sent_at = message.get("sentAt") or (batch_sent_at.isoformat() if batch_sent_at else None)
    return {
        "messageId": message.get("messageId"),
        "event": message.get("event") or message.get("type"),
        "timestamp": message.get("timestamp") or message.get("originalTimestamp"),
        "sentAt": sent_at,
        "library": (
            f"{library.get('name')} {library.get('version')}" if isinstance(library, dict) else None
        ),
    }


def plausible_time(
    message: dict[str, Any],
    received_at: datetime,
    batch_sent_at: datetime | None,
    window: TimeWindow,
    notes: list[Decision],
) -> datetime:
    """The event time inside the window of plausible times (storage/plausible.py).

    Before `window.earliest`: the message is refused (ImplausibleTimestamp), because no time
    it could be moved to would be true. Later than the tolerance after its arrival: it is stored
    at the arrival time, as PostHog does, since the event cannot have happened after it reached
    us. Each decision is added to `notes` (refusals go on the exception) for ingestion_warnings.
    """
    ts = event_time(message, received_at, batch_sent_at)
    if ts < window.earliest:
        decision = Decision(TRACKING, TOO_EARLY, _example(message, batch_sent_at))
        raise ImplausibleTimestamp(
            decision, value=ts.isoformat()[:40], earliest=window.earliest.isoformat()
        )
    if ts > window.latest(received_at):
        notes.append(Decision(TRACKING, FUTURE_CLAMPED, _example(message, batch_sent_at)))
        return received_at
    return ts


def normalise(
    message: Any,
    received_at: datetime,
    *,
    max_bytes: int,
    window: TimeWindow,
    notes: list[Decision],
    check_size: bool = True,
    batch_sent_at: datetime | None = None,
) -> dict[str, Any]:
    """Validate one message and turn it into an inbox line (scalars and JSON text), or raise.

    A clamped time is added to `notes` (see `plausible_time`)."""
    if not isinstance(message, dict):
        raise InvalidMessage(field="message", reason="must be a JSON object")
    if check_size:
        size = len(orjson.dumps(message, default=str, option=orjson.OPT_NON_STR_KEYS))
        if size > max_bytes:
            raise MessageTooLarge(size=size, limit=max_bytes)
    kind = message.get("type")
    if kind not in TYPES:
        raise InvalidMessage(field="type", reason=f"must be one of {', '.join(sorted(TYPES))}")
    user_id = _as_id(message, "userId")
    anonymous_id = _as_id(message, "anonymousId")
    previous_id = _as_id(message, "previousId")
    if kind == "alias":
        if not (previous_id and user_id):
            raise InvalidMessage(field="previousId", reason="alias needs previousId and userId")
    elif not (user_id or anonymous_id):
        raise InvalidMessage(field="userId", reason="userId or anonymousId is required")
    name: str | None = None
    group_id: str | None = None
    if kind == "track":
        event = message.get("event")
        if not isinstance(event, str) or not event.strip():
            raise InvalidMessage(field="event", reason="track needs a non-empty event name")
        name = event.strip()[:_NAME_LIMIT]
    elif kind in ("page", "screen"):
        raw = message.get("name")
        name = str(raw)[:_NAME_LIMIT] if raw else None
    elif kind == "group":
        group_id = _as_id(message, "groupId")
        if not group_id:
            raise InvalidMessage(field="groupId", reason="group needs a groupId")
    context = message.get("context")
    traits = _as_json(message, "traits")
    if kind == "identify" and traits is None and isinstance(context, dict):
        traits = _as_json(context, "traits")
    return {
        "message_id": _as_id(message, "messageId") or f"srv-{uuid.uuid4()}",
        "type": kind,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "previous_id": previous_id,
        "group_id": group_id,
        "name": name,
        "ts": plausible_time(message, received_at, batch_sent_at, window, notes),
        "received_at": received_at,
        "properties": _as_json(message, "properties"),
        "traits": traits,
        "context": _as_json(message, "context"),
    }


def encode(lines: list[dict[str, Any]]) -> str:
    """Inbox lines as newline-delimited JSON (what one inbox row stores)."""
    return b"\n".join(orjson.dumps(line, option=orjson.OPT_UTC_Z) for line in lines).decode()
