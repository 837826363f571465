"""Group buying (拼团): a group price when N people join before the deadline, else refunds.

A group's row is locked for every change, so joins queue, the group completes exactly once when
the last place fills, and a group past its deadline fails exactly once with each member refunded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tenure.kit.ids import content_hash, new_id
from tenure.kit.time import as_utc
from tenure.referrals import group_repository as repository
from tenure.referrals.errors import (
    GroupClosed,
    GroupExpired,
    GroupFull,
    GroupMemberNotFound,
    GroupNotFound,
)
from tenure.referrals.models import GroupBuy, GroupMember


@dataclass(frozen=True)
class Joined:
    """A join's outcome: the group after it, the member, and whether this call added them."""

    group: GroupBuy
    member: GroupMember
    created: bool


def open_group(
    session: Session,
    sku: str,
    group_price_minor: int,
    currency: str,
    size: int,
    hours: int,
    leader_id: str,
    now: datetime,
    hold_ref: str | None = None,
    request_key: str | None = None,
) -> Joined:
    """Open a group with its leader as the first member; a repeated `request_key` replays it."""
    group_id = f"grp_{content_hash('group', request_key)[:20]}" if request_key else new_id("grp")
    found = repository.get(session, group_id)
    if found is not None:
        leader = repository.member(session, group_id, found.leader_id)
        assert leader is not None
        return Joined(found, leader, False)
    group = GroupBuy(
        id=group_id,
        sku=sku,
        group_price_minor=group_price_minor,
        currency=currency.upper(),
        size=size,
        members=0,
        status="open",
        leader_id=leader_id,
        opened_at=now,
        deadline=now + timedelta(hours=hours),
    )
    session.add(group)
    session.flush()  # a parallel open with the same key hits the primary key: the unit retries
    return _add_member(session, group, leader_id, hold_ref, now)


def join(
    session: Session, group_id: str, user_id: str, now: datetime, hold_ref: str | None = None
) -> Joined:
    """Join a group (409 when full, closed or past its deadline); a member joining again replays."""
    group = repository.get(session, group_id, lock=True)
    if group is None:
        raise GroupNotFound(group_id=group_id)
    existing = repository.member(session, group_id, user_id)
    if existing is not None and existing.status != "refunded":
        return Joined(group, existing, False)
    if group.status != "open":
        raise GroupClosed(group_id=group_id, group_status=group.status)
    if now >= group.deadline:
        raise GroupExpired(group_id=group_id, deadline=group.deadline.isoformat())
    if group.members >= group.size:
        raise GroupFull(group_id=group_id, size=group.size, members=group.members)
    return _add_member(session, group, user_id, hold_ref, now, existing)


def _add_member(
    session: Session,
    group: GroupBuy,
    user_id: str,
    hold_ref: str | None,
    now: datetime,
    returning: GroupMember | None = None,
) -> Joined:
    if returning is not None:
        # Someone who left comes back: the same row (one per user and group) holds again.
        member = returning
        member.status, member.hold_ref, member.joined_at = "held", hold_ref, now
        member.settled_at = None
    else:
        member = GroupMember(
            group_id=group.id, user_id=user_id, hold_ref=hold_ref, status="held", joined_at=now
        )
        session.add(member)
    group.members += 1
    if group.members == group.size:
        # The last place filled: every hold is captured at the group price, in this same unit.
        group.status = "completed"
        group.closed_at = now
        session.flush()
        for row in repository.members(session, group.id):
            if row.status == "held":  # members who left were refunded already
                row.status, row.settled_at = "captured", now
    session.flush()
    return Joined(group, member, True)


def leave(session: Session, group_id: str, user_id: str, now: datetime) -> GroupMember:
    """A member leaves an open group: their hold is released once and the place opens again."""
    group = repository.get(session, group_id, lock=True)
    if group is None:
        raise GroupNotFound(group_id=group_id)
    member = repository.member(session, group_id, user_id)
    if member is None:
        raise GroupMemberNotFound(group_id=group_id, user_id=user_id)
    if member.status == "refunded":
        return member  # already left (or refunded with the failed group): nothing more to do
    if group.status != "open":
        raise GroupClosed(group_id=group_id, group_status=group.status)
    member.status, member.settled_at = "refunded", now
    group.members -= 1
    session.flush()
    return member


def fail_if_due(session: Session, group_id: str, now: datetime) -> int | None:
    """Fail one group past its deadline and refund every member; None if nothing was left to do."""
    group = repository.get(session, group_id, lock=True)
    if group is None or group.status != "open" or group.deadline > now:
        return None  # completed meanwhile, or another worker failed it first
    group.status = "failed"
    group.closed_at = now
    refunded = 0
    for row in repository.members(session, group.id):
        if row.status == "held":
            row.status, row.settled_at = "refunded", now
            refunded += 1
    session.flush()
    return refunded


def get(session: Session, group_id: str) -> tuple[GroupBuy, list[GroupMember]]:
    """A group and its members, or GroupNotFound."""
    group = repository.get(session, group_id)
    if group is None:
        raise GroupNotFound(group_id=group_id)
    return group, repository.members(session, group_id)


def listing(
    session: Session,
    status: str | None = None,
    closed_since: datetime | None = None,
    sku: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[GroupBuy]:
    """Groups, newest first (the shop polls failed ones to refund, completed ones to ship)."""
    closed_since = as_utc(closed_since) if closed_since else None
    return repository.listing(session, status, closed_since, sku, limit, offset)
