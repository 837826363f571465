"""Contacts, consent, suppression, tracking (opens, clicks, unsubscribes) and the in-app inbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from tenure.campaigns import repository
from tenure.campaigns.errors import InboxMessageNotFound, TokenInvalid
from tenure.campaigns.models import Consent, Contact, Decision, InboxItem, Message, Suppression
from tenure.campaigns.service import events

CONSENT_CHANNELS = ("email", "sms", "push")
CONSENT_STATES = ("opted_in", "opted_out")


def upsert_contact(
    session: Session, user_id: str, values: Mapping[str, str | None], now: datetime
) -> Contact:
    """Set the given fields of a user's contact (email, phone, push_token, locale, timezone)."""
    row = repository.contact(session, user_id)
    if row is None:
        row = Contact(user_id=user_id, updated_at=now)
        repository.add(session, row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = now
    return row


def set_consent(
    session: Session, user_id: str, channel: str, status: str, source: str, now: datetime
) -> Consent:
    """Record opt-in or opt-out on a channel, with where it came from."""
    row = repository.consent(session, user_id, channel)
    if row is None:
        row = Consent(user_id=user_id, channel=channel, status=status, source=source, at=now)
        repository.add(session, row)
    elif row.status != status or row.source != source:
        row.status, row.source, row.at = status, source, now
    return row


def contact_of(session: Session, user_id: str) -> tuple[Contact | None, list[Consent]]:
    """A user's contact row (none when never set) and their consents."""
    consents = repository.consents(session, [user_id])
    return repository.contact(session, user_id), sorted(consents.values(), key=lambda c: c.channel)


def suppress(session: Session, channel: str, address: str, reason: str, now: datetime) -> None:
    """Never send to this address again on this channel."""
    if repository.suppression(session, channel, address) is None:
        repository.add(
            session, Suppression(channel=channel, address=address, reason=reason, at=now)
        )


def _engage(
    session: Session, row: Message, action: str, now: datetime, reason: str | None = None
) -> None:
    repository.add(session, Decision(
        at=now, campaign_key=row.campaign_key, step_id=row.step_id, user_id=row.user_id,
        message_id=row.id, action=action, reason=reason, until=None,
    ))  # fmt: skip
    events.record(session, row, action, now, **({"url": reason} if action == "clicked" else {}))


def track(
    session: Session, message_id: str, action: str, now: datetime, target: str | None = None
) -> Message:
    """Record an open, a click or an unsubscribe of a message (each counted once per message)."""
    # The row lock makes two simultaneous first opens of one message count once.
    row = repository.message(session, message_id, lock=True)
    if row is None:
        raise TokenInvalid()
    target = None if target is None else target[:300]  # the decision keeps the start of a URL
    if not repository.engaged(session, row.campaign_key, row.step_id, row.user_id, action):
        _engage(session, row, action, now, target)
        if action == "clicked" and not repository.engaged(
            session, row.campaign_key, row.step_id, row.user_id, "opened"
        ):
            _engage(session, row, "opened", now, "click")  # a click proves the open
    if action == "unsubscribed" and row.channel in CONSENT_CHANNELS:
        set_consent(session, row.user_id, row.channel, "opted_out", "unsubscribe_link", now)
    return row


def inbox(session: Session, user_id: str, now: datetime, limit: int = 50) -> list[InboxItem]:
    """A user's in-app messages, newest first."""
    return repository.inbox(session, user_id, now, limit)


def mark_read(session: Session, user_id: str, item_id: str, now: datetime) -> InboxItem:
    """Mark an in-app message read (the first read counts as the open)."""
    item = repository.inbox_item(session, user_id, item_id)
    if item is None:
        raise InboxMessageNotFound(user_id=user_id, message_id=item_id)
    if item.read_at is None:
        item.read_at = now
        row = repository.message(session, item_id)
        if row is not None and not repository.engaged(
            session, row.campaign_key, row.step_id, user_id, "opened"
        ):
            _engage(session, row, "opened", now, "inbox")
    return item
