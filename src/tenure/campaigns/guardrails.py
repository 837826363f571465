"""Frequency caps and quiet hours for one user's messages: defer, never silently drop.

Pure functions over values; the delivery service loads the user's recent sends and competing
messages and applies the decisions. A message the guardrails block now is deferred to the first
instant they allow it (`next_allowed`); it is dropped only when that instant is past its expiry.

Calendar rules are in the user's zone: a cap of `count` per `days` days counts the sends whose
local date is among the `days` local days ending on the day in question, and quiet hours are a
wall-clock window. Instants are computed exactly across DST changes (a quiet-hours end that falls
in the spring-forward gap opens at the transition), because a message deferred an hour late is a
support ticket and one sent an hour early, at night, is worse.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

QUIET_HOURS = "quiet_hours"
EXPIRED = "expired"
MAX_CAP_DAYS = 366


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class Cap:
    """At most `count` messages per `days` calendar days in the user's zone, on `channel`
    (None: counted across all channels)."""

    count: int
    days: int = 1
    channel: str | None = None

    def __post_init__(self) -> None:
        # A cap of 0 would never allow a message: every one would be deferred for ever.
        if self.count < 1:
            raise ValueError(f"a cap's count must be at least 1, not {self.count}")
        if not 1 <= self.days <= MAX_CAP_DAYS:
            raise ValueError(f"a cap's days must be 1 to {MAX_CAP_DAYS}, not {self.days}")

    @property
    def code(self) -> str:
        """The stable reason code, e.g. `cap:email:2/1d` or `cap:all:3/7d`."""
        return f"cap:{self.channel or 'all'}:{self.count}/{self.days}d"

    def applies_to(self, channel: str) -> bool:
        """Whether a message on `channel` is limited by this cap."""
        return self.channel is None or self.channel == channel


@dataclass(frozen=True)
class QuietHours:
    """A local wall-clock window [start, end) in which nothing is sent; wraps midnight when
    start > end (21:00–09:00)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are wall-clock times: no tzinfo")
        # Equal bounds are either no window or the whole day; neither is a useful setting.
        if self.start == self.end:
            raise ValueError("quiet hours must start and end at different times")

    def contains(self, wall: time) -> bool:
        """Whether the local wall-clock time `wall` is quiet."""
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end


@dataclass(frozen=True)
class Policy:
    """The guardrails for one user's messages."""

    caps: tuple[Cap, ...] = ()
    quiet: QuietHours | None = None


@dataclass(frozen=True)
class Sent:
    """A message already sent (or leased for sending) to this user."""

    at: datetime
    channel: str

    def __post_init__(self) -> None:
        _require_aware(self.at, "Sent.at")


@dataclass(frozen=True)
class Candidate:
    """A message competing for the user's slots. `ignore_caps` (transactional messages such as a
    receipt) skips the caps but not quiet hours. `expires_at` is exclusive."""

    message_id: str
    channel: str
    priority: int  # higher wins
    due_at: datetime
    expires_at: datetime | None = None
    ignore_caps: bool = False

    def __post_init__(self) -> None:
        _require_aware(self.due_at, "Candidate.due_at")
        if self.expires_at is not None:
            _require_aware(self.expires_at, "Candidate.expires_at")


@dataclass(frozen=True)
class Decision:
    """What to do with a candidate: `at` is now for send and drop, the next allowed instant
    for defer. `reason` is a stable code (`quiet_hours`, `cap:email:2/1d`, `expired`)."""

    message_id: str
    action: Literal["send", "defer", "drop"]
    at: datetime
    reason: str | None


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _first_at_wall(wall: datetime, zone: ZoneInfo, not_before: datetime) -> datetime:
    """The earliest instant >= `not_before` whose local wall clock has reached `wall`.

    Callers pass a `wall` ahead of the wall clock at `not_before`. An ambiguous wall time (the
    repeated hour in autumn) is taken at its first occurrence unless that one has passed; a wall
    time in the spring-forward gap is reached at the transition itself, not an hour after it.
    """
    early = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if _wall(early, zone) == wall:  # the wall time exists
        return early if early >= not_before else late
    # In a gap, fold=1 lands before the transition and fold=0 after it; zoneinfo transitions
    # fall on whole seconds, so a bisection over seconds finds it exactly.
    low, high = math.floor(late.timestamp()), math.ceil(early.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(datetime.fromtimestamp(middle, UTC), zone) >= wall:
            high = middle
        else:
            low = middle
    return max(datetime.fromtimestamp(high, UTC), not_before)


def _first_day_with_room(cap: Cap, days_sent: Sequence[date], day: date) -> date | None:
    """None if `day` has room under `cap`; else the first later day that has.

    `days_sent` are the local dates of the matching sends, sorted. The count in the window only
    falls when a send leaves it, on its date + `days`, so only those days (and tomorrow) need a
    look; the latest send has left every window on its date + `days`, so one of them has room.
    """

    def used(last: date) -> int:
        first = last - timedelta(days=cap.days - 1)
        return bisect_right(days_sent, last) - bisect_left(days_sent, first)

    if used(day) < cap.count:
        return None
    tomorrow = day + timedelta(days=1)
    leaving = sorted({sent + timedelta(days=cap.days) for sent in days_sent})
    for candidate in [tomorrow, *(d for d in leaving if d > tomorrow)]:
        if used(candidate) < cap.count:
            return candidate
    raise AssertionError("unreachable: the last send leaves every window")


def next_allowed(
    policy: Policy, channel: str, zone: ZoneInfo, sent: Sequence[Sent], at: datetime
) -> tuple[datetime, str | None]:
    """The earliest instant >= `at` (UTC) when one more message on `channel` is allowed, and
    the reason the first block hit gave (None when `at` itself is allowed)."""
    _require_aware(at, "at")
    caps = [cap for cap in policy.caps if cap.applies_to(channel)]
    local_days = [(s.at.astimezone(zone).date(), s.channel) for s in sent]
    days_by_cap = [
        sorted(day for day, ch in local_days if cap.channel is None or ch == cap.channel)
        for cap in caps
    ]
    instant = at.astimezone(UTC)
    first_reason: str | None = None
    # Each step moves strictly forward, to a quiet-hours end or past a send leaving a cap
    # window, so the loop ends; the bound only guards against a bug turning it endless.
    for _ in range(4 * (len(sent) + len(caps)) + 16):
        blocked = _block(policy.quiet, caps, days_by_cap, zone, instant)
        if blocked is None:
            return instant, first_reason
        later, reason = blocked
        first_reason = first_reason or reason
        instant = later
    raise RuntimeError("next_allowed did not settle")


def _block(
    quiet: QuietHours | None,
    caps: Sequence[Cap],
    days_by_cap: Sequence[Sequence[date]],
    zone: ZoneInfo,
    instant: datetime,
) -> tuple[datetime, str] | None:
    """None if `instant` is allowed; else a later instant to look at next, and why."""
    wall = _wall(instant, zone)
    if quiet is not None and quiet.contains(wall.time()):
        end_day = wall.date()
        if quiet.start > quiet.end and wall.time() >= quiet.start:
            end_day += timedelta(days=1)  # the evening part of a window that wraps midnight
        end = _first_at_wall(datetime.combine(end_day, quiet.end), zone, instant)
        return end, QUIET_HOURS
    for cap, days_sent in zip(caps, days_by_cap, strict=True):
        room = _first_day_with_room(cap, days_sent, wall.date())
        if room is not None:
            midnight = _first_at_wall(datetime.combine(room, time()), zone, instant)
            return midnight, cap.code
    return None


def arbitrate(
    policy: Policy,
    zone: ZoneInfo,
    sent: Sequence[Sent],
    candidates: Sequence[Candidate],
    now: datetime,
) -> list[Decision]:
    """Decide, for one user at `now`, which competing messages go now, which wait, which drop.

    In order of priority (higher first), then due time, then id: a candidate allowed now is sent
    and counts against the caps for the ones after it (transactional ones too: the user did get
    a message); a blocked one is deferred to its next allowed instant, or dropped as `expired`
    when that instant is at or past its `expires_at`. A candidate not yet due is looked at from
    its due time. Decisions come back in that order.
    """
    _require_aware(now, "now")
    now = now.astimezone(UTC)
    uncapped = Policy(quiet=policy.quiet)
    granted = list(sent)
    decisions: list[Decision] = []
    for candidate in sorted(candidates, key=lambda c: (-c.priority, c.due_at, c.message_id)):
        expires = candidate.expires_at
        if expires is not None and expires <= now:
            decisions.append(Decision(candidate.message_id, "drop", now, EXPIRED))
            continue
        rules = uncapped if candidate.ignore_caps else policy
        start = max(now, candidate.due_at.astimezone(UTC))
        slot, reason = next_allowed(rules, candidate.channel, zone, granted, start)
        if slot == now:
            granted.append(Sent(now, candidate.channel))
            decisions.append(Decision(candidate.message_id, "send", now, None))
        elif expires is not None and slot >= expires:
            decisions.append(Decision(candidate.message_id, "drop", now, EXPIRED))
        else:
            decisions.append(Decision(candidate.message_id, "defer", slot, reason or "not_due"))
    return decisions
