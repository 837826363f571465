"""What every channel sends and answers: an Envelope in, an Outcome out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Status = Literal["sent", "retry", "failed"]


@dataclass(frozen=True)
class Envelope:
    """One rendered message for one user on one channel."""

    message_id: str  # idempotent id of (campaign step, user), e.g. "c7f3…"
    channel: str  # "email" | "sms" | "push"
    user_id: str
    to: str  # address, phone number or device/open id
    locale: str
    text: str  # plain text body (e-mail text part, SMS text, push body)
    subject: str | None = None
    html: str | None = None
    title: str | None = None  # push / inbox title
    url: str | None = None  # push / WeChat click-through
    unsubscribe_url: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)  # provider extras (template ids, …)


@dataclass(frozen=True)
class Outcome:
    """What became of one send: "sent", "retry" (try again later) or "failed" (for good)."""

    status: Status
    provider_id: str | None = None
    reason: str | None = None
    hard_bounce: bool = False  # the address is bad for good: the caller suppresses it


def sent(provider_id: str | None = None) -> Outcome:
    return Outcome("sent", provider_id=provider_id)


def retry(reason: str) -> Outcome:
    return Outcome("retry", reason=reason)


def failed(reason: str, *, hard_bounce: bool = False) -> Outcome:
    return Outcome("failed", reason=reason, hard_bounce=hard_bounce)


class Sender(Protocol):
    """A channel's delivery: `send` never raises for a delivery problem, it answers an Outcome."""

    channel: str

    def send(self, envelope: Envelope) -> Outcome: ...

    def close(self) -> None: ...
