"""All queries on segments, members, snapshots, tags and lifecycle state."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from tenure.segments.models import (
    LifecycleState,
    LifecycleTransition,
    Segment,
    SegmentChange,
    SegmentMember,
    SegmentSnapshot,
    Tag,
    UserTag,
)

CHUNK = 5_000
T = TypeVar("T")


def _chunks(items: list[T], size: int = CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def add(session: Session, row: Segment | Tag) -> None:
    """Stage a new segment or tag."""
    session.add(row)
    session.flush()


def segment_by_key(session: Session, key: str) -> Segment | None:
    """The segment with this key."""
    return session.scalars(select(Segment).where(Segment.key == key)).first()


def all_segments(session: Session) -> list[Segment]:
    """Every segment by key."""
    return list(session.scalars(select(Segment).order_by(Segment.key)))


def due_segment_keys(session: Session, now: datetime) -> list[str]:
    """Keys of segments whose next refresh is due."""
    query = select(Segment.key).where(Segment.next_refresh_at <= now).order_by(Segment.key)
    return list(session.scalars(query))


def claim(session: Session, segment_id: int, now: datetime, until: datetime) -> bool:
    """Move a due segment's next refresh to `until`; False when another worker got there first."""
    result = session.execute(
        update(Segment)
        .where(Segment.id == segment_id, Segment.next_refresh_at <= now)
        .values(next_refresh_at=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def delete_segment(session: Session, segment: Segment) -> None:
    """Remove a segment and everything under it."""
    snapshots = select(SegmentSnapshot.id).where(SegmentSnapshot.segment_id == segment.id)
    session.execute(delete(SegmentChange).where(SegmentChange.snapshot_id.in_(snapshots)))
    session.execute(delete(SegmentSnapshot).where(SegmentSnapshot.segment_id == segment.id))
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment.id))
    session.delete(segment)
    session.flush()


def member_ids(session: Session, segment_id: int) -> set[str]:
    """Current members of a segment."""
    query = select(SegmentMember.user_id).where(SegmentMember.segment_id == segment_id)
    return set(session.scalars(query))


def members_page(session: Session, segment_id: int, offset: int, limit: int) -> list[str]:
    """Members in user-id order, one page."""
    query = (
        select(SegmentMember.user_id)
        .where(SegmentMember.segment_id == segment_id)
        .order_by(SegmentMember.user_id)
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query))


def replace_members(
    session: Session, segment_id: int, added: list[str], removed: list[str], at: datetime
) -> None:
    """Apply a membership diff."""
    for chunk in _chunks(removed):
        session.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment_id, SegmentMember.user_id.in_(chunk)
            )
        )
    for chunk in _chunks(added):
        rows = [{"segment_id": segment_id, "user_id": u, "since": at} for u in chunk]
        session.execute(insert(SegmentMember), rows)


def add_snapshot(
    session: Session,
    segment_id: int,
    at: datetime,
    members: int,
    added: list[str],
    removed: list[str],
) -> SegmentSnapshot:
    """Record a refresh and who joined and left."""
    snap = SegmentSnapshot(
        segment_id=segment_id, taken_at=at, members=members, added=len(added), removed=len(removed)
    )
    session.add(snap)
    session.flush()
    changes = [(u, 1) for u in added] + [(u, -1) for u in removed]
    for chunk in _chunks(changes):
        rows = [{"snapshot_id": snap.id, "user_id": u, "change": c} for u, c in chunk]
        session.execute(insert(SegmentChange), rows)
    return snap


def snapshots(session: Session, segment_id: int, limit: int = 50) -> list[SegmentSnapshot]:
    """Latest refreshes first."""
    query = (
        select(SegmentSnapshot)
        .where(SegmentSnapshot.segment_id == segment_id)
        .order_by(SegmentSnapshot.taken_at.desc(), SegmentSnapshot.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def changes_up_to(session: Session, segment_id: int, snapshot_id: int) -> list[tuple[str, int]]:
    """(user_id, change) of every snapshot of a segment up to and including one."""
    query = (
        select(SegmentChange.user_id, SegmentChange.change)
        .join(SegmentSnapshot, SegmentSnapshot.id == SegmentChange.snapshot_id)
        .where(SegmentSnapshot.segment_id == segment_id, SegmentSnapshot.id <= snapshot_id)
        .order_by(SegmentSnapshot.id)
    )
    return [(str(u), int(c)) for u, c in session.execute(query)]


def segment_keys_of(session: Session, user_id: str) -> list[str]:
    """Keys of the segments a user is in."""
    query = (
        select(Segment.key)
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(SegmentMember.user_id == user_id)
        .order_by(Segment.key)
    )
    return list(session.scalars(query))


def is_member(session: Session, key: str, user_id: str) -> bool:
    """Whether a user is in the segment with this key."""
    query = (
        select(SegmentMember.user_id)
        .join(Segment, Segment.id == SegmentMember.segment_id)
        .where(Segment.key == key, SegmentMember.user_id == user_id)
    )
    return session.execute(query).first() is not None


def tag_by_key(session: Session, key: str) -> Tag | None:
    """The tag with this key."""
    return session.scalars(select(Tag).where(Tag.key == key)).first()


def all_tags(session: Session) -> list[Tag]:
    """Every tag by key."""
    return list(session.scalars(select(Tag).order_by(Tag.key)))


def tag_count(session: Session, tag_id: int) -> int:
    """Users carrying a tag."""
    from sqlalchemy import func

    query = select(func.count()).select_from(UserTag).where(UserTag.tag_id == tag_id)
    return int(session.scalar(query) or 0)


def tagged_users(session: Session, tag_ids: Iterable[int]) -> dict[int, list[str]]:
    """Users of each tag."""
    out: dict[int, list[str]] = {}
    query = select(UserTag.tag_id, UserTag.user_id).where(UserTag.tag_id.in_(list(tag_ids)))
    for tag_id, user_id in session.execute(query):
        out.setdefault(int(tag_id), []).append(str(user_id))
    return out


def tag_keys_of(session: Session, user_id: str) -> list[str]:
    """Keys of the tags a user carries."""
    query = (
        select(Tag.key)
        .join(UserTag, UserTag.tag_id == Tag.id)
        .where(UserTag.user_id == user_id)
        .order_by(Tag.key)
    )
    return list(session.scalars(query))


def set_tag_users(
    session: Session, tag_id: int, add_ids: list[str], remove_ids: list[str], at: datetime
) -> None:
    """Add and remove users of a tag."""
    for chunk in _chunks(remove_ids):
        session.execute(delete(UserTag).where(UserTag.tag_id == tag_id, UserTag.user_id.in_(chunk)))
    for chunk in _chunks(add_ids):
        rows = [{"tag_id": tag_id, "user_id": u, "created_at": at} for u in chunk]
        session.execute(insert(UserTag), rows)


def delete_tag(session: Session, tag: Tag) -> None:
    """Remove a tag from everyone and delete it."""
    session.execute(delete(UserTag).where(UserTag.tag_id == tag.id))
    session.delete(tag)
    session.flush()


def lifecycle_states(session: Session) -> dict[str, tuple[str, date]]:
    """Every user's stored stage and since."""
    query = select(LifecycleState.user_id, LifecycleState.stage, LifecycleState.since)
    return {str(u): (str(s), d) for u, s, d in session.execute(query)}


def lifecycle_state(session: Session, user_id: str) -> LifecycleState | None:
    """One user's stored stage."""
    return session.get(LifecycleState, user_id)


def save_lifecycle(
    session: Session,
    new_states: list[dict[str, Any]],
    changed_states: list[dict[str, Any]],
    transitions: list[dict[str, Any]],
) -> None:
    """Insert new states, update changed ones, append transitions."""
    for chunk in _chunks(new_states):
        session.execute(insert(LifecycleState), chunk)
    for chunk in _chunks(changed_states):
        session.execute(update(LifecycleState), chunk)  # bulk update by primary key
    for chunk in _chunks(transitions):
        session.execute(insert(LifecycleTransition), chunk)


def transitions(
    session: Session,
    to_stage: str | None,
    since: date | None,
    user_id: str | None,
    limit: int,
    after_id: int = 0,
) -> list[LifecycleTransition]:
    """Transitions in the order they were recorded, filtered by target stage, day and user."""
    query = select(LifecycleTransition).where(LifecycleTransition.id > after_id)
    if to_stage:
        query = query.where(LifecycleTransition.to_stage == to_stage)
    if since:
        query = query.where(LifecycleTransition.day >= since)
    if user_id:
        query = query.where(LifecycleTransition.user_id == user_id)
    query = query.order_by(LifecycleTransition.id).limit(limit)  # ids are the polling cursor
    return list(session.scalars(query))


def flows(session: Session, since: date) -> list[tuple[str | None, str, int]]:
    """Users per (from stage, to stage) among the transitions recorded from `since`."""
    query = (
        select(
            LifecycleTransition.from_stage,
            LifecycleTransition.to_stage,
            func.count(func.distinct(LifecycleTransition.user_id)),
        )
        .where(LifecycleTransition.day >= since)
        .group_by(LifecycleTransition.from_stage, LifecycleTransition.to_stage)
        .order_by(func.count(func.distinct(LifecycleTransition.user_id)).desc())
    )
    return [(f, t, int(n)) for f, t, n in session.execute(query)]


def joined_after(
    session: Session, segment_id: int, after_snapshot: int, limit: int
) -> list[tuple[int, str]]:
    """(snapshot id, user) of users who joined a segment in refreshes after `after_snapshot`."""
    query = (
        select(SegmentChange.snapshot_id, SegmentChange.user_id)
        .join(SegmentSnapshot, SegmentSnapshot.id == SegmentChange.snapshot_id)
        .where(
            SegmentSnapshot.segment_id == segment_id,
            SegmentChange.snapshot_id > after_snapshot,
            SegmentChange.change > 0,
        )
        .order_by(SegmentChange.snapshot_id, SegmentChange.user_id)
        .limit(limit)
    )
    return [(int(s), str(u)) for s, u in session.execute(query)]


def last_snapshot_id(session: Session, segment_id: int) -> int:
    """The newest refresh of a segment (0 when never refreshed)."""
    query = select(func.max(SegmentSnapshot.id)).where(SegmentSnapshot.segment_id == segment_id)
    return int(session.scalar(query) or 0)


def last_transition_id(session: Session) -> int:
    """The newest lifecycle transition's id (0 when none)."""
    return int(session.scalar(select(func.max(LifecycleTransition.id))) or 0)


def flows_between(session: Session, since: date, until: date) -> list[tuple[str | None, str, int]]:
    """Users per (from stage, to stage) among the transitions dated `since`..`until` (inclusive)."""
    users = func.count(func.distinct(LifecycleTransition.user_id))
    query = (
        select(LifecycleTransition.from_stage, LifecycleTransition.to_stage, users)
        .where(LifecycleTransition.day >= since, LifecycleTransition.day <= until)
        .group_by(LifecycleTransition.from_stage, LifecycleTransition.to_stage)
        .order_by(users.desc(), LifecycleTransition.from_stage, LifecycleTransition.to_stage)
    )
    return [(f, t, int(n)) for f, t, n in session.execute(query)]


def member_counts_at(session: Session, at: datetime) -> dict[int, int]:
    """Segment id -> members after its last refresh taken before `at` (segments refreshed
    only later are left out)."""
    newest = (
        select(
            SegmentSnapshot.segment_id,
            SegmentSnapshot.members,
            func.row_number()
            .over(
                partition_by=SegmentSnapshot.segment_id,
                order_by=(SegmentSnapshot.taken_at.desc(), SegmentSnapshot.id.desc()),
            )
            .label("rank"),
        )
        .where(SegmentSnapshot.taken_at < at)
        .subquery()
    )
    query = select(newest.c.segment_id, newest.c.members).where(newest.c.rank == 1)
    return {int(s): int(m) for s, m in session.execute(query)}
