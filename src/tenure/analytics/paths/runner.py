"""Paths as Ibis expressions: sessionise with window functions, anchor, pivot, count.

Semantics:
- Events are track/page/screen events of a person (the identity-merged user_id, or the
  anonymous_id of a visitor who never identified), ordered by time, ties by event_id.
- A new session starts at a person's first event and after any gap longer than the session
  gap (computed on every event, before ignored events are left out).
- With `collapse_repeats`, an event with the same name as the one before it in the session
  is dropped (A, A, B → A, B).
- The anchor is the first occurrence of the start event in the session (after: the
  session's first event when no start is given; before: its last event); its shop-local day
  must lie in since..until. A path is the anchor plus up to `steps` events after (before) it
  in the same session. Counts are sessions; `users` counts distinct people.
Direction variants are the two subclasses at the bottom.
"""

from __future__ import annotations

from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.base import InvalidQuery, Runner
from tenure.analytics.funnels.source import in_range, person_events, utc_bounds
from tenure.analytics.paths.query import PathRow, PathsQuery, PathsResult, Transition

MAX_GAP_DAYS = 30


class PathsRunner(Runner[PathsQuery, PathsResult]):
    """Top paths and Sankey transitions around a start event."""

    query_type: ClassVar[type[PathsQuery]] = PathsQuery
    direction: ClassVar[str]

    def validate(self) -> None:
        """The gap must be positive and bounded, the days ordered, the start not ignored."""
        q = self.query
        if not 1 <= q.gap_seconds <= MAX_GAP_DAYS * 86400:
            raise InvalidQuery(field="session_gap", reason=f"use 1 second to {MAX_GAP_DAYS} days")
        if q.since and q.until and q.since > q.until:
            raise InvalidQuery(field="since", reason="since is after until")
        if q.start is not None and q.start in q.ignore:
            raise InvalidQuery(field="ignore", reason=f"`{q.start}` is the start event")

    def offsets(self) -> list[int]:
        """Positions relative to the anchor, in time order."""
        raise NotImplementedError

    def anchor(self, rows: ir.Table) -> ir.Table:
        """(person, session, anchor): the anchor position of each session that has one."""
        raise NotImplementedError

    def sessions(self, con: BaseBackend) -> ir.Table:
        """Events with their session number and position in the session (after filtering)."""
        q = self.query
        ev = person_events(con).select("person", "event_id", "name", "us")
        w = ibis.window(group_by=ev.person, order_by=[ev.us, ev.event_id])
        ev = ev.mutate(prev=ev.us.lag().over(w))
        gap = q.gap_seconds * 1_000_000
        ev = ev.mutate(new=(ev.prev.isnull() | (ev.us - ev.prev > gap)).cast("int64"))
        run = ibis.cumulative_window(group_by=ev.person, order_by=[ev.us, ev.event_id])
        ev = ev.mutate(session=ev.new.sum().over(run))
        if q.ignore:
            ev = ev.filter(~ev.name.isin(list(q.ignore)))
        inside = ibis.window(group_by=[ev.person, ev.session], order_by=[ev.us, ev.event_id])
        if q.collapse_repeats:
            ev = ev.mutate(before=ev.name.lag().over(inside))
            ev = ev.filter(ev.before.isnull() | (ev.before != ev.name))
            inside = ibis.window(group_by=[ev.person, ev.session], order_by=[ev.us, ev.event_id])
        ev = ev.mutate(pos=ibis.row_number().over(inside))
        return ev.select("person", "session", "name", "us", "pos")

    def per_session(self, con: BaseBackend) -> ir.Table:
        """One row per anchored session: person and the names at each offset (e0, e1, ...)."""
        rows = self.sessions(con)
        anchors = self.anchor(rows)
        joined = rows.join(
            anchors, [rows.person == anchors.aperson, rows.session == anchors.asession]
        )
        joined = joined.mutate(rel=joined.pos - joined.anchor)
        lo, hi = self.offsets()[0], self.offsets()[-1]
        joined = joined.filter((joined.rel >= lo) & (joined.rel <= hi))
        names = {_col(r): joined.name.max(where=joined.rel == r) for r in self.offsets()}
        return joined.group_by(["person", "session"]).aggregate(**names)

    def run(self, con: BaseBackend) -> PathsResult:
        """Answer the query."""
        q = self.query
        cols = [_col(r) for r in self.offsets()]
        with self.per_session(con).cache() as per:
            totals = per.aggregate(sessions=per.count(), users=per.person.nunique()).execute()
            paths = per.group_by(cols).aggregate(sessions=per.count(), users=per.person.nunique())
            order = [ibis.desc("sessions"), *[ibis.asc(c) for c in cols]]
            top = paths.order_by(order).limit(q.top).execute()
            links = []
            for a, b in zip(self.offsets(), self.offsets()[1:], strict=False):
                pair = per.filter(per[_col(a)].notnull() & per[_col(b)].notnull())
                links.append(
                    pair.select(step=ibis.literal(a), source=pair[_col(a)], target=pair[_col(b)])
                )
            moves = links[0].union(*links[1:], distinct=False) if len(links) > 1 else links[0]
            flows = moves.group_by(["step", "source", "target"]).aggregate(sessions=moves.count())
            flows = flows.execute()
        sessions = _int(totals.sessions.iloc[0])
        return PathsResult(
            start=q.start,
            direction=self.direction,
            steps=q.steps,
            session_gap_seconds=q.gap_seconds,
            sessions=sessions,
            users=_int(totals.users.iloc[0]),
            paths=[
                PathRow(
                    path=[str(rec[c]) for c in cols if rec[c] is not None and not pd.isna(rec[c])],
                    sessions=int(rec["sessions"]),
                    users=int(rec["users"]),
                    share=round(int(rec["sessions"]) / sessions, 4) if sessions else 0.0,
                )
                for rec in top.to_dict("records")
            ],
            transitions=sorted(
                (
                    Transition(
                        step=int(r["step"]),
                        source=str(r["source"]),
                        target=str(r["target"]),
                        sessions=int(r["sessions"]),
                    )
                    for r in flows.to_dict("records")
                ),
                key=lambda t: (t.step, -t.sessions, t.source, t.target),
            ),
        )

    def _start_rows(self, rows: ir.Table) -> ir.Table:
        """Candidate anchors: the start event (or every event) on the asked-for days."""
        start, end = utc_bounds(self.query.since, self.query.until, self.zone)
        keep = in_range(rows.us, start, end)
        if self.query.start is not None:
            keep &= rows.name == self.query.start
        return rows.filter(keep)


class PathsAfterRunner(PathsRunner):
    """The events after the start event (or after the session's start)."""

    direction: ClassVar[str] = "after"

    def offsets(self) -> list[int]:
        """0 (the anchor) to steps."""
        return list(range(self.query.steps + 1))

    def anchor(self, rows: ir.Table) -> ir.Table:
        """The first start event of the session, or its first event."""
        if self.query.start is None:
            rows = rows.filter(rows.pos == 0)
        rows = self._start_rows(rows)
        return rows.group_by(aperson="person", asession="session").aggregate(anchor=rows.pos.min())


class PathsBeforeRunner(PathsRunner):
    """The events before the start event (or before the session's end)."""

    direction: ClassVar[str] = "before"

    def offsets(self) -> list[int]:
        """-steps to 0 (the anchor)."""
        return list(range(-self.query.steps, 1))

    def anchor(self, rows: ir.Table) -> ir.Table:
        """The first start event of the session, or its last event."""
        if self.query.start is None:
            last = rows.group_by(["person", "session"]).aggregate(top=rows.pos.max())
            rows = rows.join(last, ["person", "session"])
            rows = rows.filter(rows.pos == rows.top)
        rows = self._start_rows(rows)
        return rows.group_by(aperson="person", asession="session").aggregate(anchor=rows.pos.min())


RUNNERS: dict[str, type[PathsRunner]] = {"after": PathsAfterRunner, "before": PathsBeforeRunner}


def paths_runner(query: PathsQuery, zone: ZoneInfo = ZoneInfo("UTC")) -> PathsRunner:
    """The runner for the query's direction."""
    return RUNNERS[query.direction](query, zone)


def _col(offset: int) -> str:
    return f"e{offset}" if offset >= 0 else f"e_{-offset}"


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)
