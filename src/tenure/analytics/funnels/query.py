"""The funnel query and its result."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tenure.analytics.base import AnalyticsQuery, InvalidQuery

MAX_STEPS = 30
USER_PROPERTIES = ("channel", "country")
JSON_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+$")


class Exclusion(BaseModel):
    """An event that must not happen between two steps of an attempt (steps count from 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: str = Field(min_length=1)
    from_step: int = Field(default=1, ge=1, description="The step after which it is excluded.")
    to_step: int | None = Field(default=None, ge=2, description="Up to this step; None: last.")

    @classmethod
    def parse(cls, text: str) -> Exclusion:
        """From CLI text: `NAME` (first to last step) or `NAME:FROM:TO` (1-based steps)."""
        name, sep, rest = text.rpartition(":")
        head, sep2, start = name.rpartition(":")
        if sep and sep2 and start.isdigit() and rest.isdigit():
            return cls(event=head, from_step=int(start), to_step=int(rest))
        return cls(event=text)


class Breakdown(BaseModel):
    """Split the funnel by an event property (JSON path) or a user column."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["event", "user"]
    key: str = Field(min_length=1, description="`$.category` for events; channel or country.")

    @classmethod
    def parse(cls, text: str) -> Breakdown:
        """From CLI text: a JSON path (`$.category`) or a user column (`channel`, `country`)."""
        text = text.strip()
        if text.startswith("$"):
            return cls(kind="event", key=text)
        if text.startswith("user."):
            return cls(kind="user", key=text.removeprefix("user."))
        if text in USER_PROPERTIES:
            return cls(kind="user", key=text)
        raise InvalidQuery(
            field="breakdown",
            reason=f"`{text}`: use a JSON path like $.category or channel/country",
        )

    def check(self) -> None:
        """Refuse paths and columns the warehouse cannot answer."""
        if self.kind == "event" and not JSON_PATH.match(self.key):
            raise InvalidQuery(
                field="breakdown", reason=f"`{self.key}` is not a JSON path like $.a"
            )
        if self.kind == "user" and self.key not in USER_PROPERTIES:
            raise InvalidQuery(
                field="breakdown", reason=f"user breakdowns are {', '.join(USER_PROPERTIES)}"
            )

    def label(self) -> str:
        """Human label."""
        return self.key if self.kind == "event" else f"user.{self.key}"


class FunnelQuery(AnalyticsQuery):
    """Who went through the steps, in order, within the conversion window.

    Steps are event names. The window is counted from the attempt's first step; each person
    counts once, with their best attempt (see runner.py for the exact semantics of each mode).
    `since`/`until` are shop-local days that bound the first step; later steps may fall after.
    """

    steps: tuple[str, ...] = Field(description="Event names, in funnel order.")
    mode: Literal["ordered", "strict", "unordered"] = "ordered"
    window: timedelta = Field(default=timedelta(days=7), description="Conversion window.")
    exclusions: tuple[Exclusion, ...] = ()
    breakdown: Breakdown | None = None
    since: date | None = Field(default=None, description="First day of step 1 (inclusive).")
    until: date | None = Field(default=None, description="Last day of step 1 (inclusive).")
    time_buckets: tuple[int, ...] | None = Field(
        default=None, description="Histogram bucket edges in seconds (default: human steps)."
    )

    @property
    def window_seconds(self) -> int:
        """The window in whole seconds."""
        return int(self.window.total_seconds())


class TimeBucket(BaseModel):
    """People whose time from the previous step lies in [from_seconds, to_seconds)."""

    from_seconds: int
    to_seconds: int
    users: int


class FunnelStep(BaseModel):
    """One step of a funnel: who reached it, who went no further, and how long it took."""

    step: int
    name: str
    users: int
    conversion_rate: float = Field(description="Users here / users at step 1.")
    step_conversion_rate: float = Field(description="Users here / users at the previous step.")
    dropped: int = Field(description="Reached this step but not the next (`--dropped-at`).")
    median_seconds: float | None = Field(description="Median time from the previous step.")
    median_seconds_from_start: float | None = Field(description="Median time from step 1.")
    time_buckets: list[TimeBucket] = Field(default_factory=list)


class FunnelSegment(BaseModel):
    """The funnel of one breakdown value (segment None: everyone)."""

    segment: str | None = None
    steps: list[FunnelStep]


class FunnelResult(BaseModel):
    """The funnel overall and by breakdown value."""

    mode: str
    steps: list[str]
    window_seconds: int
    breakdown: str | None = None
    overall: FunnelSegment
    segments: list[FunnelSegment] = Field(default_factory=list)


class DroppedUser(BaseModel):
    """A person who reached step K and not step K+1 (anonymous visitors by anonymous_id)."""

    user_id: str | None
    anonymous_id: str | None
    segment: str | None = None
    reached_at: str = Field(description="When the counted attempt reached step K (UTC, ISO).")


class DroppedRequest(BaseModel):
    """A funnel and the step whose drop-outs to list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    query: FunnelQuery
    step: int = Field(ge=1, description="Reached this step, not the next.")


class DroppedResult(BaseModel):
    """Everyone who dropped after a step."""

    step: int
    count: int
    users: list[DroppedUser]
