"""The paths query and its result."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from tenure.analytics.base import AnalyticsQuery

MAX_PATH_STEPS = 20


class PathsQuery(AnalyticsQuery):
    """Where sessions go after (or came from before) a start event.

    A session is a person's run of events with no gap longer than `session_gap`. Each session
    that contains the start event (its first occurrence; without a start event: the session's
    first event, or its last one for `before`) contributes one path of up to `steps` events.
    """

    start: str | None = Field(default=None, description="Start event; None: session start/end.")
    direction: Literal["after", "before"] = "after"
    steps: int = Field(default=5, ge=1, le=MAX_PATH_STEPS, description="Events after/before.")
    session_gap: timedelta = Field(default=timedelta(minutes=30))
    top: int = Field(default=20, ge=1, le=1000, description="How many paths to return.")
    collapse_repeats: bool = Field(default=False, description="A, A, B counts as A, B.")
    ignore: tuple[str, ...] = Field(default=(), description="Event names left out of paths.")
    since: date | None = Field(default=None, description="First day of the start event.")
    until: date | None = Field(default=None, description="Last day of the start event.")

    @property
    def gap_seconds(self) -> int:
        """The inactivity gap in whole seconds."""
        return int(self.session_gap.total_seconds())


class PathRow(BaseModel):
    """One path (event names in time order) and how many sessions / people took it."""

    path: list[str]
    sessions: int
    users: int
    share: float = Field(description="Sessions on this path / all sessions with a start.")


class Transition(BaseModel):
    """A Sankey link: sessions that went from `source` at offset `step` to `target` next.

    `step` is the source's position relative to the start event: 0, 1, ... after it, or
    -N, ..., -1 before it (the target is then one position closer to the start).
    """

    step: int
    source: str
    target: str
    sessions: int


class PathsResult(BaseModel):
    """Top paths and the transition table."""

    start: str | None
    direction: str
    steps: int
    session_gap_seconds: int
    sessions: int
    users: int
    paths: list[PathRow]
    transitions: list[Transition]
