"""Accepting tracking calls: validate each message, store the good ones durably, report the rest."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from tenure.config import Settings
from tenure.errors import TenureError
from tenure.ingest.tracking import repository
from tenure.ingest.tracking.errors import (
    BatchPartiallyRejected,
    BatchTooLarge,
    BodyTooLarge,
    ImplausibleTimestamp,
    InvalidMessage,
    MalformedGzip,
    MalformedJson,
    MessageTooLarge,
    UnsupportedEncoding,
)
from tenure.ingest.tracking.messages import as_time, encode, normalise
from tenure.ingest.warnings import service as warnings
from tenure.ingest.warnings.service import Decision
from tenure.kit.time import utc_now
from tenure.storage.plausible import TimeWindow

# Called in the unit of work that stores the lines, with the (anonymous or previous id, user id)
# pairs they link: experiments hand in theirs so a visitor keeps their variant on sign-in
# (experiments sit above ingest, so the application passes the function in).
IdentityHook = Callable[[Session, list[tuple[str, str]], datetime], None]


@dataclass
class Accepted:
    """What a call validated (to store), what it refused, and the time decisions to record."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    received_at: datetime = field(default_factory=utc_now)
    decisions: list[Decision] = field(default_factory=list)
    refused: TenureError | None = None  # a single message refused after its decision is recorded

    @property
    def accepted(self) -> int:
        """How many messages are stored."""
        return len(self.lines)


def decode_body(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The request body with its Content-Encoding undone: gzip (what several Segment clients
    send by default) or none. Inflation stops one byte past `limit`, so a small body that would
    inflate to gigabytes costs no memory: it is a 413."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return body
    if codings != ["gzip"] and codings != ["x-gzip"]:
        raise UnsupportedEncoding(encoding=encoding)
    out, rest = b"", body
    try:
        while rest:  # one gzip member after another, as gzip.decompress reads them
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            out += inflater.decompress(rest, limit + 1 - len(out))
            while inflater.unconsumed_tail and len(out) <= limit:
                out += inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(out))
            if len(out) > limit:
                raise BodyTooLarge(limit=limit)
            if not inflater.eof:
                raise MalformedGzip(reason="the stream ends early")
            rest = inflater.unused_data
    except zlib.error as exc:
        raise MalformedGzip(reason=str(exc)[:200]) from None
    return out


def parse_body(body: bytes, limit: int, *, batch: bool) -> Any:
    """The JSON body, or a 400 naming the problem."""
    if len(body) > limit:
        raise (BatchTooLarge if batch else MessageTooLarge)(size=len(body), limit=limit)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedJson(reason=str(exc)[:200]) from None


def validate_one(settings: Settings, kind: str, body: Any) -> Accepted:
    """Validate a single message sent to /v1/{kind} (a bad one is a 400, nothing stored; an
    implausible time is recorded first, see `raise_for_rejects`)."""
    if not isinstance(body, dict):
        raise InvalidMessage(field="body", reason="must be a JSON object")
    result = Accepted()
    body = {**body, "type": kind}
    try:
        # The body limit already bounds the message: no second size check.
        line = normalise(
            body,
            result.received_at,
            max_bytes=0,
            window=TimeWindow.from_settings(settings),
            notes=result.decisions,
            check_size=False,
        )
    except ImplausibleTimestamp as exc:
        result.decisions.append(exc.decision)
        result.refused = exc
        return result
    result.lines.append(line)
    return result


def validate_batch(settings: Settings, body: Any, body_size: int) -> Accepted:
    """Validate each message of a /v1/batch call: the good ones, and reasons for the rest."""
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise InvalidMessage(field="batch", reason="must be an object with a batch array")
    result = Accepted()
    batch_sent_at = as_time(body, "sentAt")
    shared_context = body.get("context") if isinstance(body.get("context"), dict) else None
    # No message can be larger than the body that carries it.
    check_size = body_size > settings.max_message_bytes
    window = TimeWindow.from_settings(settings)
    for index, message in enumerate(body["batch"]):
        if shared_context and isinstance(message, dict) and "context" not in message:
            message = {**message, "context": shared_context}
        try:
            result.lines.append(
                normalise(
                    message,
                    result.received_at,
                    max_bytes=settings.max_message_bytes,
                    window=window,
                    notes=result.decisions,
                    check_size=check_size,
                    batch_sent_at=batch_sent_at,
                )
            )
        except TenureError as exc:
            if isinstance(exc, ImplausibleTimestamp):
                result.decisions.append(exc.decision)
            message_id = message.get("messageId") if isinstance(message, dict) else None
            result.rejected.append(
                {"index": index, "messageId": message_id, "code": exc.code, "reason": exc.message}
            )
    return result


def store(session: Session, result: Accepted) -> None:
    """Write the accepted lines as one inbox row, and the clamped or refused times to
    ingestion_warnings (the caller commits before answering)."""
    if result.lines:
        repository.add(session, result.received_at, len(result.lines), encode(result.lines))
    if result.decisions:
        warnings.record(session, warnings.tally(result.decisions), result.received_at)


def identity_links(result: Accepted) -> list[tuple[str, str]]:
    """The ids the identify and alias calls among the lines link: alias previousId → userId,
    identify anonymousId → userId (the calls that say two ids are one person)."""
    pairs: dict[tuple[str, str], None] = {}
    for line in result.lines:
        user = line.get("user_id")
        if not user or line.get("type") not in ("identify", "alias"):
            continue
        other = line.get("previous_id") if line.get("type") == "alias" else None
        other = other or line.get("anonymous_id")
        if other and other != user:
            pairs[(str(other), str(user))] = None
    return list(pairs)


def raise_for_rejects(result: Accepted) -> None:
    """A refused single message, or a batch with rejects, answers 400 after what it stored
    (good messages, warnings) is committed."""
    if result.refused is not None:
        raise result.refused
    if result.rejected:
        raise BatchPartiallyRejected(result.accepted, result.rejected)


def store_own_events(session: Session, messages: list[dict[str, Any]]) -> None:
    """Events Tenure records itself (a campaign message delivered, opened, clicked …), put in
    the tracking inbox so the flusher writes them to the warehouse like any tracked event.

    Each message needs a `messageId`, which makes the event's id: a replay changes nothing.
    """
    result = Accepted()
    for message in messages:
        result.lines.append(
            normalise(
                message,
                result.received_at,
                max_bytes=0,
                window=TimeWindow.default(),
                notes=result.decisions,
                check_size=False,
            )
        )
    store(session, result)
