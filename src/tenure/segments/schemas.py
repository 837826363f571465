"""Segment, tag, RFM and lifecycle I/O for the HTTP API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tenure.kit.bounds import NAME_LENGTH, Line, SegmentKey, Text, UserId
from tenure.segments.lifecycle import LifecycleQuery, LifecycleResult
from tenure.segments.rfm import RfmQuery, RfmResult


class RfmRequest(RfmQuery):
    """An RFM query; `save` also writes every customer's scores (model "rfm")."""

    save: bool = False


class RfmResponse(RfmResult):
    """The RFM result and how many score rows were written."""

    scored: int = 0


class LifecycleRequest(LifecycleQuery):
    """A lifecycle query; `save` writes stages to scores and records transitions."""

    save: bool = False


class LifecycleResponse(BaseModel):
    """Stage counts, score rows written and transitions recorded."""

    result: LifecycleResult
    scored: int
    transitions: int


class TransitionOut(BaseModel):
    """A user's move from one stage to another on a day."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    from_stage: str | None
    to_stage: str
    day: date
    recorded_at: datetime


class PreviewRequest(BaseModel):
    """A rule to count, as of a day (default: the last day with an order)."""

    model_config = ConfigDict(extra="forbid")

    rule: dict[str, Any]
    as_of: date | None = None
    sample: int = Field(default=20, ge=0, le=1000)


class PreviewResult(BaseModel):
    """How many users match and a few of them."""

    count: int
    sample: list[str]
    as_of: date


class SegmentIn(BaseModel):
    """A new saved segment."""

    model_config = ConfigDict(extra="forbid")

    key: SegmentKey = Field(description="Lower-case slug, unique.")
    name: Annotated[Line, Field(max_length=NAME_LENGTH)] | None = None
    description: Text = ""
    rule: dict[str, Any]
    refresh_minutes: int = Field(default=60, ge=1, le=60 * 24 * 31)


class SegmentPatch(BaseModel):
    """Changes to a saved segment."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Line, Field(max_length=NAME_LENGTH)] | None = None
    description: Text | None = None
    rule: dict[str, Any] | None = None
    refresh_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 31)


class SegmentOut(BaseModel):
    """A saved segment."""

    model_config = ConfigDict(from_attributes=True)

    key: str
    name: str
    description: str
    rule: dict[str, Any]
    refresh_minutes: int
    member_count: int
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None
    next_refresh_at: datetime

    @field_validator("rule", mode="before")
    @classmethod
    def _rule(cls, value: Any) -> Any:
        import json

        return json.loads(value) if isinstance(value, str) else value


class RefreshOut(BaseModel):
    """One refresh: members now, who joined, who left."""

    model_config = ConfigDict(from_attributes=True)

    key: str
    members: int
    added: int
    removed: int
    at: datetime


class SnapshotOut(BaseModel):
    """A stored refresh."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    taken_at: datetime
    members: int
    added: int
    removed: int


class Members(BaseModel):
    """A page of member ids."""

    key: str
    total: int
    offset: int
    user_ids: list[str]


class Membership(BaseModel):
    """Whether one user is in a segment."""

    key: str
    user_id: str
    member: bool


class TagIn(BaseModel):
    """A new tag: manual, or rule-based with `rule`."""

    model_config = ConfigDict(extra="forbid")

    key: SegmentKey
    rule: dict[str, Any] | None = None


class TagOut(BaseModel):
    """A tag and how many users carry it."""

    key: str
    rule: dict[str, Any] | None
    users: int


class TagUsers(BaseModel):
    """Users to tag."""

    model_config = ConfigDict(extra="forbid")

    user_ids: list[UserId] = Field(min_length=1, max_length=100_000)


class Tagged(BaseModel):
    """How many users got the tag newly."""

    key: str
    added: int
