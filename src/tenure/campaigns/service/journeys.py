"""Moving users through their journey: one step after another until a wait, a send or the end.

Each enrolment is advanced inside the caller's unit of work, so the step it reaches, the
messages it queues, the coupon it is given and the decisions about it commit together: a
worker that dies part-way leaves the user at the step they were at, and the next run
continues from there without giving anything twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.campaigns import repository
from tenure.campaigns.models import Consent, Contact, Enrollment
from tenure.campaigns.spec import (
    EXIT,
    Branch,
    Campaign,
    Coupon,
    Exit,
    Points,
    Send,
    Split,
    Tag,
    Wait,
    Webhook,
    parse_duration,
)
from tenure.kit.buckets import hash_v2
from tenure.loyalty.service import award_points
from tenure.promotions.coupons.service import issue_one
from tenure.segments import tags
from tenure.segments.service import is_member

MAX_STEPS = 200  # a journey is a loop-free graph of at most 100 steps; this is a safety net
ADDRESS = {"email": "email", "sms": "phone", "push": "push_token"}


def message_id(enrollment_id: int, step_id: str) -> str:
    """The idempotent id of a step's message to a user: the same on every retry and worker."""
    return hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).hexdigest()[:32]


@dataclass
class Batch:
    """What the step machine needs about a batch of users, read once, and what it produced."""

    now: datetime
    zone: ZoneInfo
    contacts: dict[str, Contact]
    consents: dict[tuple[str, str], Consent]
    suppressed: set[tuple[str, str]]
    ordered: set[int]  # enrolments whose user ordered since entering
    messages: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def decide(
        self,
        row: Enrollment,
        step: str | None,
        action: str,
        reason: str | None = None,
        message: str | None = None,
        until: datetime | None = None,
    ) -> None:
        """Record a decision about this user."""
        self.decisions.append({
            "at": self.now, "campaign_key": row.campaign_key, "step_id": step,
            "user_id": row.user_id, "message_id": message, "action": action,
            "reason": reason, "until": until,
        })  # fmt: skip

    def zone_of(self, user_id: str) -> ZoneInfo:
        """The user's own zone when known, else the shop's."""
        contact = self.contacts.get(user_id)
        return user_zone(contact.timezone if contact is not None else None, self.zone)


def user_zone(name: str | None, shop: ZoneInfo) -> ZoneInfo:
    """A contact's zone, or the shop's when it has none (or one this machine does not know)."""
    if not name:
        return shop
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return shop


def reachability(
    batch: Batch, campaign: Campaign, user_id: str, channel: str
) -> tuple[str | None, str | None]:
    """(address, None) when the user may get a message on `channel`, else (None, reason)."""
    if channel == "inbox":
        return user_id, None
    contact = batch.contacts.get(user_id)
    address = getattr(contact, ADDRESS[channel], None) if contact is not None else None
    if not address:
        return None, "no_address"
    consent = batch.consents.get((user_id, channel))
    if consent is not None and consent.status == "opted_out":
        return None, "opted_out"
    if campaign.consent == "opt_in" and (consent is None or consent.status != "opted_in"):
        return None, "no_consent"
    if (channel, address) in batch.suppressed:
        return None, "suppressed"
    return address, None


def _finish(batch: Batch, row: Enrollment, state: str, reason: str) -> None:
    row.state, row.reason, row.finished_at, row.step_id = state, reason, batch.now, EXIT
    batch.decide(row, None, "exited" if state == "exited" else "completed", reason)


def _exit_reason(session: Session, batch: Batch, row: Enrollment, campaign: Campaign) -> str | None:
    exits = campaign.exits
    if exits.on_order and row.id in batch.ordered:
        return "converted"
    if exits.on_unsubscribe and any(
        batch.consents.get((row.user_id, ch)) is not None
        and batch.consents[(row.user_id, ch)].status == "opted_out"
        for ch in campaign.channels()
    ):
        return "unsubscribed"
    segment = campaign.audience.segment
    if exits.on_segment_exit and segment and not is_member(session, segment, row.user_id):
        return "left_segment"
    return None


def advance(session: Session, batch: Batch, row: Enrollment, campaign: Campaign) -> None:
    """Run the user's steps from where they are until a wait or the end of the journey."""
    reason = _exit_reason(session, batch, row, campaign)
    if reason is not None:
        _finish(batch, row, "exited", reason)
        return
    for _ in range(MAX_STEPS):
        if row.step_id == EXIT:
            _finish(batch, row, "done", "completed")
            return
        step = campaign.step(row.step_id)
        following = _run(session, batch, row, campaign, step)
        if following is None:  # waiting: next_at is set
            return
        row.step_id = following
    _finish(batch, row, "exited", "too_many_steps")


def _run(
    session: Session, batch: Batch, row: Enrollment, campaign: Campaign, step: Any
) -> str | None:
    if isinstance(step, Exit):
        return EXIT
    if isinstance(step, Wait):
        row.next_at = _wake(batch, row, step)
        row.step_id = campaign.after(step)
        return None
    if isinstance(step, Branch):
        return step.then if _holds(session, batch, row, step) else step.otherwise
    if isinstance(step, Split):
        return _split(row, campaign, step)
    if row.arm != "treatment":
        # Held-out users walk the same path; what they would have got is recorded, not done.
        batch.decide(row, step.id, "held_out", row.arm)
        return campaign.after(step)
    if isinstance(step, Send):
        _queue(batch, row, campaign, step)
    elif isinstance(step, Coupon):
        row.coupon_code = issue_one(session, step.offer, row.user_id, batch.now)
        batch.decide(row, step.id, "coupon", row.coupon_code)
    elif isinstance(step, Points):
        key = f"campaign:{row.id}:{step.id}"
        award_points(
            session, row.user_id, step.points, f"campaign:{row.campaign_key}", key, batch.now
        )
        batch.decide(row, step.id, "points", str(step.points))
    elif isinstance(step, Tag):
        if step.remove:
            tags.untag_users(session, step.tag, [row.user_id])
        else:
            tags.tag_users(session, step.tag, [row.user_id])
        batch.decide(row, step.id, "untagged" if step.remove else "tagged", step.tag)
    elif isinstance(step, Webhook):
        _queue(batch, row, campaign, step)
    return campaign.after(step)


def _wake(batch: Batch, row: Enrollment, step: Wait) -> datetime:
    if step.duration is not None:
        return batch.now + parse_duration(step.duration)
    assert step.until is not None
    zone = batch.zone_of(row.user_id)
    local = batch.now.astimezone(zone)
    target = local.replace(hour=step.until.hour, minute=step.until.minute, second=0, microsecond=0)
    if target <= local:
        target = (local + timedelta(days=1)).replace(
            hour=step.until.hour, minute=step.until.minute, second=0, microsecond=0
        )
    # Built from wall-clock fields, so a DST change between now and then lands right.
    return target.replace(tzinfo=zone).astimezone(batch.now.tzinfo)


def _holds(session: Session, batch: Batch, row: Enrollment, step: Branch) -> bool:
    condition = step.condition
    if condition.ordered is not None:
        return (row.id in batch.ordered) == condition.ordered
    if condition.opened is not None:
        return repository.engaged(
            session, row.campaign_key, condition.opened, row.user_id, "opened"
        )
    if condition.clicked is not None:
        return repository.engaged(
            session, row.campaign_key, condition.clicked, row.user_id, "clicked"
        )
    assert condition.in_segment is not None
    return is_member(session, condition.in_segment, row.user_id)


def _split(row: Enrollment, campaign: Campaign, step: Split) -> str:
    point = hash_v2(f"campaign:{campaign.key}:split:{step.id}", row.user_id)
    edge = 0.0
    for path in step.paths:
        edge += path.weight
        if point < edge:
            return path.next
    return step.paths[-1].next


def _queue(batch: Batch, row: Enrollment, campaign: Campaign, step: Send | Webhook) -> None:
    mid = message_id(row.id, step.id)
    address: str | None
    if isinstance(step, Webhook):
        channel, address, expires, transactional = "webhook", step.url, None, True
    else:
        channel = step.channel
        address, reason = reachability(batch, campaign, row.user_id, channel)
        if address is None:
            batch.decide(row, step.id, "skipped", reason, mid)
            return
        expires = batch.now + parse_duration(step.expires_after) if step.expires_after else None
        transactional = step.transactional
    contact = batch.contacts.get(row.user_id)
    batch.messages.append({
        "id": mid, "enrollment_id": row.id, "campaign_key": row.campaign_key,
        "version": row.version, "step_id": step.id, "user_id": row.user_id,
        "channel": channel, "priority": campaign.priority, "status": "queued",
        "due_at": batch.now, "expires_at": expires, "transactional": transactional,
        "attempts": 0, "address": address,
        "locale": contact.locale if contact is not None else None, "created_at": batch.now,
    })  # fmt: skip
