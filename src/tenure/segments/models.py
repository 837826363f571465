"""Operational tables: saved segments and their members, snapshots, tags, lifecycle state.

These live in the operational database, not the warehouse, because checkout and campaigns ask
"is user U in segment S" and "who entered at-risk since T" per request: an indexed lookup in
PostgreSQL/SQLite answers in a millisecond, while the DuckDB file may be locked by a writer.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime

BIGID = BigInteger().with_variant(Integer(), "sqlite")


class Segment(Base):
    """A saved segment: a rule, a refresh interval and its last refresh."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[str] = mapped_column(Text)  # JSON
    refresh_minutes: Mapped[int] = mapped_column(Integer)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    next_refresh_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class SegmentMember(Base):
    """A user who is in a segment now (as of its last refresh)."""

    __tablename__ = "segment_members"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    since: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_segment_members_user_id", "user_id"),)


class SegmentSnapshot(Base):
    """One refresh: when, how many members, how many joined and left."""

    __tablename__ = "segment_snapshots"

    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), index=True
    )
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime())
    members: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)


class SegmentChange(Base):
    """Who joined (+1) or left (-1) a segment at a snapshot; members at any snapshot follow."""

    __tablename__ = "segment_changes"

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("segment_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    change: Mapped[int] = mapped_column(Integer)


class Tag(Base):
    """A tag: set by hand, or by a rule refreshed like a segment."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    rule: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON; None: manual
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class UserTag(Base):
    """A tag on a user."""

    __tablename__ = "user_tags"

    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_user_tags_user_id", "user_id"),)


class LifecycleState(Base):
    """A user's current lifecycle stage and the day it began."""

    __tablename__ = "lifecycle_states"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20))
    since: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LifecycleTransition(Base):
    """A stage change of a user, dated by the day the new stage began."""

    __tablename__ = "lifecycle_transitions"

    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(200))
    from_stage: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_stage: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_lifecycle_transitions_to_stage_day", "to_stage", "day"),
        Index("ix_lifecycle_transitions_user_id", "user_id"),
    )
