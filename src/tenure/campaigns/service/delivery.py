"""The outbox: claim due messages under the caps and quiet hours, then record what happened.

Claiming is one unit of work: due rows are leased with `FOR UPDATE SKIP LOCKED`, each user's
cap decision is serialised (an advisory lock on PostgreSQL, the writer lock on SQLite), a
message that may go now is leased with its send slot reserved (`sent_at`), one that may not
is deferred to its next allowed instant, and one past its own deadline is dropped. Sending
happens outside the unit; `record` then settles each message, only while this worker still
holds its lease. A worker killed mid-send leaves its leases to run out: the message is
claimed again and re-sent with the same message id (the SMTP Message-ID and the webhook
Idempotency-Key), which is what lets a receiver drop the repeat.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.campaigns import policy as shop_policy
from tenure.campaigns import repository
from tenure.campaigns.channels.base import Outcome
from tenure.campaigns.guardrails import Candidate, Sent, arbitrate
from tenure.campaigns.models import InboxItem, Message, Suppression
from tenure.campaigns.service import campaigns as campaign_docs
from tenure.campaigns.service import events
from tenure.campaigns.service.journeys import Batch, reachability
from tenure.campaigns.spec import Campaign

MAX_ATTEMPTS = 6
BACKOFF = (30, 120, 600, 1800, 3600)  # seconds before attempts 2, 3, …: temporary failures
CUSTOMER = ("email", "sms", "push", "inbox")


@dataclass(frozen=True)
class Claimed:
    """A message leased for sending, with what its content needs."""

    id: str
    campaign_key: str
    version: int
    step_id: str
    user_id: str
    enrollment_id: int
    channel: str
    address: str
    locale: str | None
    attempts: int


def _decision(
    row: Message,
    now: datetime,
    action: str,
    reason: str | None = None,
    until: datetime | None = None,
) -> dict[str, object]:
    return {
        "at": now, "campaign_key": row.campaign_key, "step_id": row.step_id,
        "user_id": row.user_id, "message_id": row.id, "action": action, "reason": reason,
        "until": until,
    }  # fmt: skip


def claim(
    session: Session, now: datetime, worker: str, until: datetime, limit: int, zone: ZoneInfo
) -> list[Claimed]:
    """Lease up to `limit` due messages that the guardrails let go now."""
    rows = repository.lease_messages(session, now, limit)
    if not rows:
        return []
    users = sorted({r.user_id for r in rows})
    repository.lock_users(session, users)
    policy = shop_policy.current(session)
    guard = policy.guardrails()
    batch = Batch(
        now=now, zone=zone, contacts=repository.contacts(session, users),
        consents=repository.consents(session, users), suppressed=set(), ordered=set(),
    )  # fmt: skip
    pairs = [(r.channel, r.address) for r in rows if r.channel in CUSTOMER and r.address]
    batch.suppressed = repository.suppressed(session, pairs)
    since = now - timedelta(days=policy.longest_window_days() + 1)
    history: dict[str, list[Sent]] = defaultdict(list)
    for user, at, channel in repository.sends_since(session, users, since, [r.id for r in rows]):
        if channel in CUSTOMER:
            history[user].append(Sent(at=at, channel=channel))
    by_user: dict[str, list[Message]] = defaultdict(list)
    for row in rows:
        by_user[row.user_id].append(row)
    decisions: list[dict[str, object]] = []
    claimed: list[Claimed] = []
    documents: dict[tuple[str, int], Campaign] = {}
    for user, mine in by_user.items():
        candidates = []
        for row in mine:
            if row.channel not in CUSTOMER:  # the shop's own webhooks: no caps, no consent
                claimed.append(_lease(row, now, worker, until))
                continue
            version = (row.campaign_key, row.version)
            if version not in documents:
                documents[version] = campaign_docs.document_of(session, *version)
            doc = documents[version]
            address, reason = reachability(batch, doc, user, row.channel)
            if address is None:
                row.status, row.reason, row.lease_until = "skipped", reason, None
                decisions.append(_decision(row, now, "skipped", reason))
                continue
            candidates.append(Candidate(
                message_id=row.id, channel=row.channel, priority=row.priority,
                due_at=row.due_at, expires_at=row.expires_at, ignore_caps=row.transactional,
            ))  # fmt: skip
        found = {r.id: r for r in mine}
        for verdict in arbitrate(guard, batch.zone_of(user), history[user], candidates, now):
            row = found[verdict.message_id]
            if verdict.action == "send":
                claimed.append(_lease(row, now, worker, until))
            elif verdict.action == "defer":
                row.status, row.due_at, row.lease_until = "queued", verdict.at, None
                row.sent_at, row.reason = None, verdict.reason
                decisions.append(_decision(row, now, "deferred", verdict.reason, verdict.at))
            else:
                row.status, row.reason, row.lease_until = "dropped", verdict.reason, None
                row.sent_at = None
                decisions.append(_decision(row, now, "dropped", verdict.reason))
    repository.insert_decisions(session, decisions)
    session.flush()
    return claimed


def _lease(row: Message, now: datetime, worker: str, until: datetime) -> Claimed:
    row.status, row.leased_by, row.lease_until = "leased", worker, until
    row.sent_at, row.attempts = now, row.attempts + 1  # sent_at reserves the cap slot
    return Claimed(
        id=row.id, campaign_key=row.campaign_key, version=row.version, step_id=row.step_id,
        user_id=row.user_id, enrollment_id=row.enrollment_id, channel=row.channel,
        address=row.address or "", locale=row.locale, attempts=row.attempts,
    )  # fmt: skip


def renew(session: Session, ids: list[str], worker: str, until: datetime) -> set[str]:
    """Extend this worker's leases; the ids it still holds."""
    return repository.renew_leases(session, ids, worker, until)


def record(
    session: Session, message: Claimed, outcome: Outcome, now: datetime, worker: str
) -> bool:
    """Settle a sent message; False when this worker no longer held its lease."""
    return bool(record_many(session, [(message, outcome)], now, worker))


def record_many(
    session: Session, settled: list[tuple[Claimed, Outcome]], now: datetime, worker: str
) -> int:
    """Settle sent messages in one unit: each marked sent (or due again, or failed), with its
    decision and warehouse event; only those this worker still holds. Returns how many."""
    rows = repository.messages_locked(session, [m.id for m, _ in settled])
    decisions: list[dict[str, object]] = []
    found: list[dict[str, Any] | None] = []
    done = 0
    for message, outcome in settled:
        row = rows.get(message.id)
        if row is None or row.status != "leased" or row.leased_by != worker:
            continue  # the lease ran out and another worker has it now
        done += 1
        decisions.append(_settle(session, row, outcome, now, found))
        if outcome.hard_bounce and outcome.status != "sent" and row.address:
            _suppress(session, row.channel, row.address, "hard_bounce", now)
            decisions.append(_decision(row, now, "bounced", row.address))
            found.append(events.event(row, "bounced", now, reason=outcome.reason))
    repository.insert_decisions(session, decisions)
    events.store(session, found)
    return done


def _settle(
    session: Session, row: Message, outcome: Outcome, now: datetime, found: list[Any]
) -> dict[str, object]:
    if outcome.status == "sent":
        found.append(events.event(row, "sent", now))
        row.status, row.provider_id, row.reason = "sent", outcome.provider_id, None
        row.lease_until = None
        return _decision(row, now, "sent", outcome.provider_id)
    if outcome.status == "retry" and row.attempts < MAX_ATTEMPTS:
        wait = BACKOFF[min(row.attempts - 1, len(BACKOFF) - 1)]
        row.status, row.due_at, row.sent_at = "queued", now + timedelta(seconds=wait), None
        row.reason, row.lease_until = outcome.reason, None
        return _decision(row, now, "retry", outcome.reason, row.due_at)
    row.status = "dead" if outcome.status == "retry" else "failed"
    row.reason, row.lease_until, row.sent_at = outcome.reason, None, None
    return _decision(row, now, row.status, outcome.reason)


@dataclass(frozen=True)
class InboxContent:
    """A rendered in-app message."""

    title: str | None
    body: str
    url: str | None
    expires_at: datetime | None


def deliver_inbox(
    session: Session, message: Claimed, item: InboxContent, now: datetime, worker: str
) -> bool:
    """The in-app channel: the inbox row and the sent mark commit together, so exactly once."""
    if repository.inbox_item(session, message.user_id, message.id) is None:
        repository.add(session, InboxItem(
            id=message.id, user_id=message.user_id, campaign_key=message.campaign_key,
            title=item.title, body=item.body, url=item.url, created_at=now, read_at=None,
            expires_at=item.expires_at,
        ))  # fmt: skip
    return record(session, message, Outcome(status="sent", provider_id="inbox"), now, worker)


def _suppress(session: Session, channel: str, address: str, reason: str, now: datetime) -> None:
    if repository.suppression(session, channel, address) is None:
        repository.add(
            session, Suppression(channel=channel, address=address, reason=reason, at=now)
        )
