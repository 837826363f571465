"""Funnel modes: how an attempt moves from step to step (ordered, strict, unordered).

- ordered: the steps in order; other events may happen in between. Exclusion (E, a, b): an
  attempt whose step a is followed by an E before its step b cannot go past step b - 1 from
  that step a; it must redo step a after the E (still within the window from step 1).
- strict: each step is the person's very next event (any name; ties in time by event_id).
- unordered: the first k steps all happen, in any order, within one window starting at the
  attempt's first event (step k counts people who did steps 1..k); times are measured from
  that first event to the moment the k steps are all done.
"""

from __future__ import annotations

from typing import ClassVar

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from tenure.analytics.base import InvalidQuery
from tenure.analytics.funnels.query import FunnelQuery
from tenure.analytics.funnels.runner import FunnelRunner
from tenure.analytics.funnels.source import in_range, micros, person_events

_NO_TIME = ibis.null().cast("int64")


def _bucket(ts: ir.TimestampValue, seconds: int) -> ir.IntegerValue:
    """Window-sized buckets: a time within one window before t is in t's bucket or the previous."""
    return micros(ts) // (seconds * 1_000_000)


def _probes(consumers: ir.Table, seconds: int) -> ir.Table:
    """Each (person, ts) twice: with its own bucket and the bucket before."""
    cons = consumers.select("person", "ts").distinct()
    cons = cons.mutate(bucket=_bucket(cons.ts, seconds))
    return cons.union(cons.mutate(bucket=cons.bucket - 1), distinct=False)


class OrderedFunnelRunner(FunnelRunner):
    """Steps in order within the window; other events may happen in between."""

    mode: ClassVar[str] = "ordered"

    def _blockers(self, events: ir.Table, level: int) -> ir.Table | None:
        """Exclusion events that cut attempts moving from `level` to `level + 1`."""
        n = len(self.query.steps)
        parts = []
        for ex in self.query.exclusions:
            to = ex.to_step or n
            if ex.from_step <= level < to:
                rows = events.filter(events.name == ex.event)
                # At step a itself an E at the same instant is not "between"; inside it is.
                parts.append(rows.select("person", "ts", inner=ibis.literal(level > ex.from_step)))
        if not parts:
            return None
        return parts[0].union(*parts[1:], distinct=False) if len(parts) > 1 else parts[0]

    def _link(
        self, providers: ir.Table, consumers: ir.Table, blockers: ir.Table | None
    ) -> ir.Table:
        """Completions of the next level: each consumer continues the latest-starting attempt
        that completed the previous level before it (and after the last blocker), within the window.

        The latest start is the best one to continue: it leaves the most window. A hash join on
        (person, window-sized bucket) finds the candidates without sorting every event.
        """
        seconds = self.query.window_seconds
        window = ibis.interval(seconds=seconds)
        probes = _probes(consumers, seconds)
        prov = providers.select(
            pperson=providers.person,
            pbucket=_bucket(providers.ts, seconds),
            pts=providers.ts,
            start=providers.start,
        )
        pairs = probes.join(
            prov,
            [
                probes.person == prov.pperson,
                probes.bucket == prov.pbucket,
                prov.pts < probes.ts,
                prov.pts >= probes.ts - window,
            ],
        )
        if blockers is not None:
            last = self._last_blockers(probes, blockers, window, seconds)
            pairs = pairs.left_join(last, [pairs.person == last.bperson, pairs.ts == last.bts])
            pairs = pairs.filter(
                (pairs.edge.isnull() | (pairs.pts >= pairs.edge))
                & (pairs.inner.isnull() | (pairs.pts > pairs.inner))
            )
        best = pairs.group_by(["person", "ts"]).aggregate(start=pairs.start.max())
        return best.filter(best.ts <= best.start + window)

    @staticmethod
    def _last_blockers(
        probes: ir.Table, blockers: ir.Table, window: ir.IntervalScalar, seconds: int
    ) -> ir.Table:
        blk = blockers.select(
            xperson=blockers.person,
            xbucket=_bucket(blockers.ts, seconds),
            xts=blockers.ts,
            inner=blockers.inner,
        )
        hits = probes.join(
            blk,
            [
                probes.person == blk.xperson,
                probes.bucket == blk.xbucket,
                blk.xts < probes.ts,
                blk.xts >= probes.ts - window,
            ],
        )
        return hits.group_by(bperson="person", bts="ts").aggregate(
            edge=hits.xts.max(where=~hits.inner), inner=hits.xts.max(where=hits.inner)
        )

    def attempts(self, con: BaseBackend) -> ir.Table:
        """Level-1 attempts are the step-1 events; later levels come from chained links."""
        q = self.query
        n = len(q.steps)
        names = [*q.steps, *(ex.event for ex in q.exclusions)]
        ev = person_events(con, names).select("person", "anonymous", "name", "ts")
        first = ev.filter((ev.name == q.steps[0]) & in_range(ev.ts, *self.bounds()))
        level = first.select("person", "ts", start=first.ts)
        completions = []
        for k in range(1, n):
            consumers = ev.filter(ev.name == q.steps[k])
            level = self._link(level, consumers, self._blockers(ev, k))
            completions.append(level.mutate(level=ibis.literal(k + 1, type="int32")))
        done = completions[0].union(*completions[1:], distinct=False) if n > 2 else completions[0]
        later = {f"s{k}": micros(done.ts.min(where=done.level == k)) for k in range(2, n + 1)}
        reached = done.group_by(["person", "start"]).aggregate(level=done.level.max(), **later)
        reached = reached.select(
            "person",
            anonymous=ibis.literal(False),
            level="level",
            s1=micros(reached.start),
            **{c: reached[c] for c in later},
        )
        singles = first.select(
            "person",
            "anonymous",
            level=ibis.literal(1, type="int32"),
            s1=micros(first.ts),
            **dict.fromkeys(later, _NO_TIME),
        )
        return singles.union(reached, distinct=False)


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

    def attempts(self, con: BaseBackend) -> ir.Table:
        """Every step-1 event with the names and times of the person's next n-1 events."""
        q = self.query
        n = len(q.steps)
        ev = person_events(con)
        w = ibis.window(group_by=ev.person, order_by=[ev.ts, ev.event_id])
        ahead = {}
        for j in range(1, n):
            ahead[f"n{j}"] = ev.name.lead(j).over(w)
            ahead[f"t{j}"] = ev.ts.lead(j).over(w)
        rows = ev.mutate(**ahead)
        rows = rows.filter((rows.name == q.steps[0]) & in_range(rows.ts, *self.bounds()))
        limit = rows.ts + ibis.interval(seconds=q.window_seconds)
        ok: ir.BooleanValue = ibis.literal(True)
        prev = rows.ts
        reached = []
        for j in range(1, n):
            t = rows[f"t{j}"]
            ok = ok & (rows[f"n{j}"] == q.steps[j]).fill_null(False)
            ok = ok & (t > prev).fill_null(False) & (t <= limit).fill_null(False)
            reached.append(ok)
            prev = t
        level = ibis.literal(1)
        for flag in reached:
            level = level + flag.cast("int32")
        later = {
            f"s{j + 1}": ibis.ifelse(reached[j - 1], micros(rows[f"t{j}"]), _NO_TIME)
            for j in range(1, n)
        }
        return rows.select(
            "person", "anonymous", level=level.cast("int32"), s1=micros(rows.ts), **later
        )


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

    def attempts(self, con: BaseBackend) -> ir.Table:
        """Every step event as a possible first event, with the next time of each step."""
        q = self.query
        n = len(q.steps)
        ev = person_events(con, q.steps).select("person", "anonymous", "name", "ts")
        # RANGE frame: events at the same instant see each other, so ties cannot depend on order.
        w = ibis.range_window(group_by=ev.person, order_by=ev.ts, preceding=0, following=None)
        nxt = {
            f"x{j}": ibis.ifelse(ev.name == step, ev.ts, ibis.null()).min().over(w)
            for j, step in enumerate(q.steps)
        }
        rows = ev.mutate(**nxt)
        rows = rows.filter(in_range(rows.ts, *self.bounds()))
        own = ibis.cases(*((rows.name == s, j) for j, s in enumerate(q.steps)))
        limit = rows.ts + ibis.interval(seconds=q.window_seconds)
        ok: list[ir.BooleanValue] = []
        inside: ir.BooleanValue = ibis.literal(True)
        for j in range(n):
            x = rows[f"x{j}"]
            inside = inside & x.notnull() & (x <= limit).fill_null(False)
            ok.append(inside & (own <= j))
        level = ibis.cases(*((ok[j], j + 1) for j in reversed(range(n))), else_=0)
        rows = rows.mutate(level=level.cast("int32"))
        rows = rows.filter(rows.level >= 1)
        cols = {"s1": micros(rows.ts)}
        for k in range(2, n + 1):
            done = ibis.greatest(rows.ts, *(rows[f"x{j}"] for j in range(k)))
            cols[f"s{k}"] = ibis.ifelse(rows.level >= k, micros(done), _NO_TIME)
        return rows.select("person", "anonymous", "level", **cols)


RUNNERS: dict[str, type[FunnelRunner]] = {
    "ordered": OrderedFunnelRunner,
    "strict": StrictFunnelRunner,
    "unordered": UnorderedFunnelRunner,
}


def funnel_runner(query: FunnelQuery, zone: str = "UTC") -> FunnelRunner:
    """The runner for the query's mode."""
    return RUNNERS[query.mode](query, zone)
