"""Campaign events in the warehouse: each delivery, open, click, unsubscribe and bounce.

They go through the tracking inbox (`ingest/tracking`), in the same unit of work as the
decision they mirror, so the warehouse gets exactly the events the database recorded. Names
follow Segment's e-mail spec where it has one (`Email Delivered`, `Email Opened`,
`Email Link Clicked`, `Email Bounced`, `Unsubscribed`); every event carries the campaign, the
step, the channel and the message id, so analytics can attribute what followed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tenure.campaigns.models import Message
from tenure.ingest.tracking.service import store_own_events

LABELS = {"email": "Email", "sms": "SMS", "push": "Push Notification", "inbox": "In-App Message"}
ACTIONS = {"sent": "Delivered", "opened": "Opened", "clicked": "Clicked", "bounced": "Bounced"}


def name(channel: str, action: str) -> str:
    """The warehouse event name of an action on a channel."""
    if action == "unsubscribed":
        return "Unsubscribed"
    if channel == "email" and action == "clicked":
        return "Email Link Clicked"
    return f"{LABELS[channel]} {ACTIONS[action]}"


def record(session: Session, row: Message, action: str, at: datetime, **extra: Any) -> None:
    """Put one campaign event for a customer message in the tracking inbox."""
    store(session, [event(row, action, at, **extra)])


def store(session: Session, found: list[dict[str, Any] | None]) -> None:
    """Put campaign events in the tracking inbox (one inbox row for them all)."""
    messages = [e for e in found if e is not None]
    if messages:
        store_own_events(session, messages)


def event(row: Message, action: str, at: datetime, **extra: Any) -> dict[str, Any] | None:
    """The tracking message of a campaign event (none for the shop's own webhooks)."""
    if row.channel not in LABELS:
        return None
    properties = {
        "campaign": row.campaign_key, "campaign_version": row.version, "step": row.step_id,
        "channel": row.channel, "message_id": row.id, **extra,
    }  # fmt: skip
    return {
        "type": "track", "userId": row.user_id, "event": name(row.channel, action),
        "messageId": f"campaign:{row.id}:{action}", "timestamp": at.isoformat(),
        "properties": properties,
    }  # fmt: skip
