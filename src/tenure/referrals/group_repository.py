"""All group-buy queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.referrals.models import GroupBuy, GroupMember


def get(session: Session, group_id: str, lock: bool = False) -> GroupBuy | None:
    """A group by id; `lock` holds its row (FOR UPDATE) so joins queue one at a time."""
    stmt = select(GroupBuy).where(GroupBuy.id == group_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def members(session: Session, group_id: str) -> list[GroupMember]:
    """A group's members in joining order."""
    stmt = select(GroupMember).where(GroupMember.group_id == group_id)
    return list(session.scalars(stmt.order_by(GroupMember.id)))


def member(session: Session, group_id: str, user_id: str) -> GroupMember | None:
    """One user's membership of a group."""
    stmt = select(GroupMember).where(
        GroupMember.group_id == group_id, GroupMember.user_id == user_id
    )
    return session.scalars(stmt).first()


def due_ids(session: Session, now: datetime, limit: int) -> list[str]:
    """Open groups whose deadline has passed, oldest first."""
    stmt = (
        select(GroupBuy.id)
        .where(GroupBuy.status == "open", GroupBuy.deadline <= now)
        .order_by(GroupBuy.deadline, GroupBuy.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def listing(
    session: Session,
    status: str | None,
    closed_since: datetime | None,
    sku: str | None,
    limit: int,
    offset: int,
) -> list[GroupBuy]:
    """Groups, newest first, by status, closing time and SKU."""
    stmt = select(GroupBuy)
    if status:
        stmt = stmt.where(GroupBuy.status == status)
    if closed_since is not None:
        stmt = stmt.where(GroupBuy.closed_at >= closed_since)
    if sku:
        stmt = stmt.where(GroupBuy.sku == sku)
    stmt = stmt.order_by(GroupBuy.opened_at.desc(), GroupBuy.id).limit(limit).offset(offset)
    return list(session.scalars(stmt))
