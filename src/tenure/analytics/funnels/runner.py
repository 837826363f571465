"""The funnel runner shared by every mode: best attempt per person, breakdown, counts, times.

Semantics (all modes):
- Events are track/page/screen events; a person is the identity-merged user_id, or the
  anonymous_id of a visitor who never identified.
- An attempt starts at a step-1 event whose shop-local day lies in since..until; the
  conversion window is counted from that event. Each later step must happen strictly after
  the previous one (a later timestamp) and no later than start + window.
- Each person counts once, with their best attempt: the one that reaches the furthest step,
  and among those the latest-starting one (so repeated browsing before a purchase measures
  time from the last relevant step 1). Step k's count is the people whose best attempt
  reached step k; an attempt's step-k time is the first moment it reached step k.
- A breakdown gives each person one segment: the event property on the counted attempt's
  first event, or the user column (channel/country; anonymous visitors are "(none)").
- Time to convert at step k: seconds from the step before (median and histogram) and from
  step 1 (median), over the people who reached step k.
Mode subclasses only say how attempts progress (see modes.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from itertools import pairwise
from typing import Any, ClassVar, NamedTuple

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.base import InvalidQuery, Runner
from tenure.analytics.funnels.query import (
    MAX_STEPS,
    DroppedResult,
    DroppedUser,
    FunnelQuery,
    FunnelResult,
    FunnelSegment,
    FunnelStep,
    TimeBucket,
)
from tenure.analytics.funnels.source import NONE, json_value, person_events, utc_bounds

# Attempts are ranked by one integer: level first, then start time (µs since 1970 < 10^16).
RANK = 10**16
_MINUTE, _HOUR, _DAY = 60, 3600, 86400
HUMAN_EDGES: tuple[int, ...] = (0, 10, 30, _MINUTE, 5 * _MINUTE, 15 * _MINUTE, 30 * _MINUTE)
HUMAN_EDGES += (_HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR, _DAY, 2 * _DAY, 3 * _DAY, 7 * _DAY)
HUMAN_EDGES += (14 * _DAY, 30 * _DAY, 60 * _DAY, 90 * _DAY, 180 * _DAY, 365 * _DAY)
MAX_WINDOW_DAYS = 400
ALL = "(all)"


class Attempts(NamedTuple):
    """Every attempt, and those that got past step 1 (a cheaper table where a mode has one)."""

    every: ir.Table
    progressed: ir.Table


def times(n: int) -> list[str]:
    """The per-step time columns of an attempts table: µs since 1970 of steps 1..n."""
    return [f"s{k}" for k in range(1, n + 1)]


class FunnelRunner(Runner[FunnelQuery, FunnelResult]):
    """A funnel: subclasses build `attempts`, this class picks and counts the best ones."""

    query_type: ClassVar[type[FunnelQuery]] = FunnelQuery
    mode: ClassVar[str]
    _stack: ExitStack | None = None

    def validate(self) -> None:
        """Steps, window, days, breakdown, buckets and exclusions must make sense."""
        q = self.query
        if not 2 <= len(q.steps) <= MAX_STEPS:
            raise InvalidQuery(field="steps", reason=f"a funnel has 2 to {MAX_STEPS} steps")
        if any(not s.strip() for s in q.steps):
            raise InvalidQuery(field="steps", reason="a step needs an event name")
        if not 1 <= q.window_seconds <= MAX_WINDOW_DAYS * 86400:
            raise InvalidQuery(field="window", reason=f"use 1 second to {MAX_WINDOW_DAYS} days")
        if q.since and q.until and q.since > q.until:
            raise InvalidQuery(field="since", reason="since is after until")
        if q.breakdown:
            q.breakdown.check()
        edges = q.time_buckets
        if edges is not None and (
            not edges
            or any(e < 0 for e in edges)
            or any(b <= a for a, b in pairwise(edges))
            or edges[-1] >= q.window_seconds
        ):
            raise InvalidQuery(
                field="time_buckets", reason="edges rise from 0 and stay below the window"
            )
        for ex in q.exclusions:
            to = ex.to_step or len(q.steps)
            if not ex.from_step < to <= len(q.steps):
                raise InvalidQuery(field="exclusions", reason=f"`{ex.event}`: steps out of range")
            if ex.event in q.steps:
                raise InvalidQuery(
                    field="exclusions", reason=f"`{ex.event}` is a step of this funnel"
                )

    # -- what a mode provides ------------------------------------------------------------

    def attempts(self, con: BaseBackend) -> Attempts:
        """(person, anonymous, level, s1..sn): each attempt, its furthest step, step times (µs)."""
        raise NotImplementedError

    def start_names(self) -> list[str]:
        """Event names an attempt can start with (for event-property breakdowns)."""
        return [self.query.steps[0]]

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The UTC instants [start, end) of the shop-local days since..until."""
        return utc_bounds(self.query.since, self.query.until, self.zone)

    # -- shared --------------------------------------------------------------------------

    def people(self, con: BaseBackend) -> ir.Table:
        """One row per person: the best attempt's level, step times (µs) and segment."""
        n = len(self.query.steps)
        every, progressed = self.attempts(con)
        every = every.mutate(rank=every.level.cast("int64") * RANK + every.s1)
        best = every.group_by("person").aggregate(
            rank=every.rank.max(), anonymous=every.anonymous.any()
        )
        best = best.mutate(level=(best.rank // RANK).cast("int32"), s1=best.rank % RANK)
        later = times(n)[1:]
        detail = progressed.mutate(rank=progressed.level.cast("int64") * RANK + progressed.s1)
        # Ties in rank give the same times in every mode; min() only collapses the duplicates.
        detail = detail.group_by(["person", "rank"]).aggregate(
            **{c: detail[c].min() for c in later}
        )
        joined = best.left_join(detail, [best.person == detail.person, best.rank == detail.rank])
        people = joined.select("person", "anonymous", "level", "s1", *[joined[c] for c in later])
        return self._with_segment(con, people)

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Tables kept with `keep` live until the end of this block."""
        with ExitStack() as stack:
            self._stack = stack
            try:
                yield
            finally:
                self._stack = None

    def keep(self, table: ir.Table) -> ir.Table:
        """Materialise a table that later expressions read more than once.

        Without it the engines may evaluate the same sub-plan once per reader (Spark always
        does), which grows with the number of steps.
        """
        if self._stack is None:
            return table
        return self._stack.enter_context(table.cache())

    def _with_segment(self, con: BaseBackend, people: ir.Table) -> ir.Table:
        b = self.query.breakdown
        if b is None:
            return people.mutate(segment=ibis.literal(ALL))
        if b.kind == "user":
            users = con.table("users")
            users = users.select(uid=users.user_id, value=users[b.key])
            joined = people.left_join(users, (people.person == users.uid) & ~people.anonymous)
        else:
            ev = person_events(con, self.start_names())
            ev = ev.select(pid=ev.person, us=ev.us, props=ev.properties)
            hits = people.select("person", "s1").join(
                ev, [people.person == ev.pid, people.s1 == ev.us]
            )
            hits = hits.mutate(value=json_value(hits.props, b.key, con.name))
            # Two start events at the same instant: take the smallest value, on every engine.
            values = hits.group_by(uid="person").aggregate(value=hits.value.min())
            joined = people.left_join(values, people.person == values.uid)
        return joined.drop("uid").mutate(segment=joined.value.fill_null(NONE)).drop("value")

    def edges(self) -> list[tuple[int, int]]:
        """Histogram buckets [lo, hi) of seconds; the last one closes at the window."""
        w = self.query.window_seconds
        points = [e for e in (self.query.time_buckets or HUMAN_EDGES) if e < w]
        if not points or points[0] != 0:
            points = [0, *points]
        return list(zip(points, [*points[1:], w], strict=True))

    def _aggregates(self, people: ir.Table) -> dict[str, Any]:
        n = len(self.query.steps)
        aggs: dict[str, Any] = {}
        edges = self.edges()
        for k in range(1, n + 1):
            aggs[f"users_{k}"] = (people.level >= k).cast("int64").sum()
            if k == 1:
                continue
            prev = (people[f"s{k}"] - people[f"s{k - 1}"]).cast("float64") / 1_000_000
            start = (people[f"s{k}"] - people.s1).cast("float64") / 1_000_000
            aggs[f"median_{k}"] = prev.median()
            aggs[f"median_start_{k}"] = start.median()
            for i, (lo, hi) in enumerate(edges):
                upper = prev <= hi if i == len(edges) - 1 else prev < hi
                aggs[f"bucket_{k}_{i}"] = ((prev >= lo) & upper).cast("int64").sum()
        return aggs

    def run(self, con: BaseBackend) -> FunnelResult:
        """Answer the query."""
        q = self.query
        by_segment = None
        with self.scope():
            people = self.people(con)
            if q.breakdown is None:
                overall = people.aggregate(**self._aggregates(people)).execute()
            else:
                people = self.keep(people)
                aggs = self._aggregates(people)
                overall = people.aggregate(**aggs).execute()
                by_segment = people.group_by("segment").aggregate(**aggs).execute()
        segments = []
        if by_segment is not None:
            segments = [self._segment(rec, rec["segment"]) for rec in by_segment.to_dict("records")]
            segments.sort(key=lambda s: (-s.steps[0].users, s.segment or ""))
        return FunnelResult(
            mode=self.mode,
            steps=list(q.steps),
            window_seconds=q.window_seconds,
            breakdown=q.breakdown.label() if q.breakdown else None,
            overall=self._segment(overall.to_dict("records")[0], None),
            segments=segments,
        )

    def _segment(self, rec: dict[str, Any], segment: str | None) -> FunnelSegment:
        steps = []
        names = self.query.steps
        users = [_int(rec.get(f"users_{k}")) for k in range(1, len(names) + 1)]
        for k, name in enumerate(names, start=1):
            here = users[k - 1]
            before = users[k - 2] if k > 1 else here
            after = users[k] if k < len(names) else here
            steps.append(
                FunnelStep(
                    step=k,
                    name=name,
                    users=here,
                    conversion_rate=_rate(here, users[0]),
                    step_conversion_rate=_rate(here, before),
                    dropped=here - after,
                    median_seconds=_seconds(rec.get(f"median_{k}")),
                    median_seconds_from_start=_seconds(rec.get(f"median_start_{k}")),
                    time_buckets=[
                        TimeBucket(
                            from_seconds=lo, to_seconds=hi, users=_int(rec[f"bucket_{k}_{i}"])
                        )
                        for i, (lo, hi) in enumerate(self.edges())
                    ]
                    if k > 1
                    else [],
                )
            )
        return FunnelSegment(segment=segment, steps=steps)

    def dropped_frame(self, con: BaseBackend, step: int) -> pd.DataFrame:
        """People who reached `step` but not the next: ids, segment and when they reached it."""
        self.validate()
        if not 1 <= step < len(self.query.steps):
            raise InvalidQuery(
                field="dropped_at", reason=f"use a step from 1 to {len(self.query.steps) - 1}"
            )
        with self.scope():
            people = self.people(con)
            people = people.filter(people.level == step)
            frame = people.select(
                "person", "anonymous", "segment", at_us=people[f"s{step}"]
            ).execute()
        frame = frame.sort_values("person", kind="stable").reset_index(drop=True)
        anonymous = frame.anonymous.astype(bool)
        return pd.DataFrame(
            {
                "user_id": frame.person.where(~anonymous, None),
                "anonymous_id": frame.person.where(anonymous, None),
                "segment": frame.segment if self.query.breakdown else None,
                "reached_at": pd.to_datetime(frame.at_us.astype("int64"), unit="us", utc=True),
            }
        )

    def dropped(self, con: BaseBackend, step: int) -> DroppedResult:
        """The drop-outs after a step, as a typed result."""
        frame = self.dropped_frame(con, step)
        users = [
            DroppedUser(
                user_id=_text(r["user_id"]),
                anonymous_id=_text(r["anonymous_id"]),
                segment=_text(r["segment"]),
                reached_at=r["reached_at"].isoformat(),
            )
            for r in frame.to_dict("records")
        ]
        return DroppedResult(step=step, count=len(users), users=users)


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _seconds(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 3)


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
