"""Funnel modes: how an attempt moves from step to step (ordered, strict, unordered).

- ordered: the steps in order; other events may happen in between. Exclusion (E, a, b): an
  E after the attempt's step a and before its step b cuts the attempt's progress from that
  step a; it must redo step a after the E (and still finish within the window from step 1).
- strict: each step is the person's very next event (of any name; ties in time by event_id).
- unordered: the first k steps all happen, in any order, within one window starting at the
  attempt's first event (step k counts people who did steps 1..k). Step 1's time is that
  first event; step k's time is the moment steps 1..k are all done.
Times are integers (µs since the epoch, `us`): integer arithmetic is exact on every engine.
"""

from __future__ import annotations

from typing import ClassVar
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from tenure.analytics.base import InvalidQuery
from tenure.analytics.funnels.query import FunnelQuery
from tenure.analytics.funnels.runner import Attempts, FunnelRunner
from tenure.analytics.funnels.source import in_range, person_events

_NO_TIME = ibis.null().cast("int64")


class OrderedFunnelRunner(FunnelRunner):
    """Steps in order within the window; other events may happen in between."""

    mode: ClassVar[str] = "ordered"

    def attempts(self, con: BaseBackend) -> Attempts:
        """Level 1: every step-1 event; level k+1: links from level-k completions."""
        q = self.query
        n = len(q.steps)
        names = list(dict.fromkeys([*q.steps, *(ex.event for ex in q.exclusions)]))
        ev = person_events(con, names)
        code = ibis.cases(*((ev.name == name, i) for i, name in enumerate(names)))
        # Read the events once, small: every level below picks its rows from these.
        ev = self.keep(ev.select("person", "anonymous", code=code.cast("int8"), us=ev.us))
        first = ev.filter((ev.code == 0) & in_range(ev.us, *self.bounds()))
        level = first.select("person", "us", start=first.us)
        completions = []
        for k in range(1, n):
            consumers = ev.filter(ev.code == names.index(q.steps[k]))
            level = self._link(level, consumers, self._blockers(ev, k, names))
            # Each level feeds the next link and the union below: compute it once.
            level = self.keep(level) if k < n - 1 else level
            completions.append(level.mutate(level=ibis.literal(k + 1, type="int32")))
        done = completions[0].union(*completions[1:], distinct=False) if n > 2 else completions[0]
        later = {f"s{k}": done.us.min(where=done.level == k) for k in range(2, n + 1)}
        reached = done.group_by(["person", "start"]).aggregate(level=done.level.max(), **later)
        reached = reached.select(
            "person", anonymous=ibis.literal(False), level="level", s1="start", **later
        )
        singles = first.select(
            "person",
            "anonymous",
            level=ibis.literal(1, type="int32"),
            s1="us",
            **dict.fromkeys(later, _NO_TIME),
        )
        return Attempts(singles.union(reached, distinct=False), reached)

    def _blockers(self, events: ir.Table, level: int, names: list[str]) -> ir.Table | None:
        """Exclusion events that cut attempts moving from step `level` to `level + 1`."""
        n = len(self.query.steps)
        parts = []
        for ex in self.query.exclusions:
            if ex.from_step <= level < (ex.to_step or n):
                rows = events.filter(events.code == names.index(ex.event))
                # An E at the very instant of step a is not "between"; at a later step it is.
                parts.append(rows.select("person", "us", inner=ibis.literal(level > ex.from_step)))
        if not parts:
            return None
        return parts[0].union(*parts[1:], distinct=False) if len(parts) > 1 else parts[0]

    def _link(
        self, providers: ir.Table, consumers: ir.Table, blockers: ir.Table | None
    ) -> ir.Table:
        """Next-level completions (person, us, start).

        A consumer event continues the latest-starting attempt that completed the previous
        level strictly before it (and after the last blocking exclusion): the latest start
        leaves the most window. That is a running maximum over each person's time-ordered
        rows, linear in the rows however many a person has (a join on person would pair
        every provider with every consumer). At one instant consumers sort first, then
        exclusions at step a, providers, exclusions inside the span: "before" is strictly
        earlier, an exclusion at step a's instant is not "between", one at a later step's is.
        """
        width = self.query.window_seconds * 1_000_000
        parts = [
            consumers.select("person", "us", kind=ibis.literal(0, type="int8"), start=_NO_TIME),
            providers.select("person", "us", kind=ibis.literal(2, type="int8"), start="start"),
        ]
        if blockers is not None:
            kind = ibis.ifelse(blockers.inner, 3, 1).cast("int8")
            parts.append(blockers.select("person", "us", kind=kind, start=_NO_TIME))
        rows = parts[0].union(*parts[1:], distinct=False)
        keys: list[ir.Value] = [rows.person]
        if blockers is not None:
            # Each exclusion opens a new epoch: attempts from before it cannot be continued.
            w = ibis.cumulative_window(group_by=rows.person, order_by=[rows.us, rows.kind])
            rows = rows.mutate(epoch=(rows.kind % 2).cast("int64").sum().over(w))
            keys = [rows.person, rows.epoch]
        w = ibis.cumulative_window(group_by=keys, order_by=[rows.us, rows.kind])
        rows = rows.mutate(best=rows.start.max().over(w))
        done = rows.filter((rows.kind == 0) & (rows.us <= rows.best + width))
        return done.select("person", "us", start="best")


class StrictFunnelRunner(FunnelRunner):
    """Each step is the person's very next event."""

    mode: ClassVar[str] = "strict"

    def validate(self) -> None:
        """No exclusions: nothing can happen between strict steps."""
        super().validate()
        if self.query.exclusions:
            raise InvalidQuery(
                field="exclusions", reason="strict funnels allow no events between steps"
            )

    def attempts(self, con: BaseBackend) -> Attempts:
        """Every step-1 event with the names and times of the person's next n-1 events."""
        q = self.query
        n = len(q.steps)
        ev = person_events(con)
        w = ibis.window(group_by=ev.person, order_by=[ev.us, ev.event_id])
        ahead = {}
        for j in range(1, n):
            ahead[f"n{j}"] = ev.name.lead(j).over(w)
            ahead[f"t{j}"] = ev.us.lead(j).over(w)
        rows = ev.mutate(**ahead)
        rows = rows.filter((rows.name == q.steps[0]) & in_range(rows.us, *self.bounds()))
        limit = rows.us + q.window_seconds * 1_000_000
        ok: ir.BooleanValue = ibis.literal(True)
        prev = rows.us
        reached = []
        for j in range(1, n):
            t = rows[f"t{j}"]
            step_ok = (rows[f"n{j}"] == q.steps[j]) & (t > prev) & (t <= limit)
            ok = ok & step_ok.fill_null(False)
            reached.append(ok)
            prev = t
        level: ir.IntegerValue = ibis.literal(1, type="int32")
        for flag in reached:
            level = level + flag.cast("int32")
        later = {
            f"s{j + 1}": ibis.ifelse(reached[j - 1], rows[f"t{j}"], _NO_TIME) for j in range(1, n)
        }
        every = self.keep(
            rows.select("person", "anonymous", level=level.cast("int32"), s1="us", **later)
        )
        return Attempts(every, every.filter(every.level >= 2))


class UnorderedFunnelRunner(FunnelRunner):
    """The first k steps in any order within one window."""

    mode: ClassVar[str] = "unordered"

    def validate(self) -> None:
        """Distinct step names, and no exclusions (there is no "between" without an order)."""
        super().validate()
        if len(set(self.query.steps)) != len(self.query.steps):
            raise InvalidQuery(field="steps", reason="unordered steps must be different events")
        if self.query.exclusions:
            raise InvalidQuery(
                field="exclusions", reason="unordered funnels have no order to exclude between"
            )

    def start_names(self) -> list[str]:
        """Any step can open an unordered attempt."""
        return list(self.query.steps)

    def attempts(self, con: BaseBackend) -> Attempts:
        """Every step event as a possible first event, with the next time of each step."""
        q = self.query
        n = len(q.steps)
        ev = person_events(con, q.steps).select("person", "anonymous", "name", "us")
        # RANGE frame: events at the same instant see each other, so ties cannot depend on order.
        w = ibis.range_window(group_by=ev.person, order_by=ev.us, preceding=0, following=None)
        nxt = {
            f"x{j}": ibis.ifelse(ev.name == step, ev.us, _NO_TIME).min().over(w)
            for j, step in enumerate(q.steps)
        }
        rows = ev.mutate(**nxt)
        rows = rows.filter(in_range(rows.us, *self.bounds()))
        own = ibis.cases(*((rows.name == s, j) for j, s in enumerate(q.steps)))
        limit = rows.us + q.window_seconds * 1_000_000
        ok: list[ir.BooleanValue] = []
        inside: ir.BooleanValue = ibis.literal(True)
        for j in range(n):
            x = rows[f"x{j}"]
            inside = inside & (x <= limit).fill_null(False)
            ok.append(inside & (own <= j))
        level = ibis.cases(*((ok[j], j + 1) for j in reversed(range(n))), else_=0)
        rows = rows.mutate(level=level.cast("int32"))
        rows = rows.filter(rows.level >= 1)
        cols = {}
        for k in range(2, n + 1):
            done = ibis.greatest(rows.us, *(rows[f"x{j}"] for j in range(k)))
            cols[f"s{k}"] = ibis.ifelse(rows.level >= k, done, _NO_TIME)
        every = self.keep(rows.select("person", "anonymous", "level", s1="us", **cols))
        return Attempts(every, every.filter(every.level >= 2))


RUNNERS: dict[str, type[FunnelRunner]] = {
    "ordered": OrderedFunnelRunner,
    "strict": StrictFunnelRunner,
    "unordered": UnorderedFunnelRunner,
}


def funnel_runner(query: FunnelQuery, zone: ZoneInfo = ZoneInfo("UTC")) -> FunnelRunner:
    """The runner for the query's mode."""
    return RUNNERS[query.mode](query, zone)
