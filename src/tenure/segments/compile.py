"""Compiling a parsed segment rule to one Ibis expression: the user ids that match."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import ibis.selectors as s
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.activity import Activity, daily
from tenure.analytics.features import people, profile_table
from tenure.segments.rules import Cond, Did, DidNotFollow, Group, Node, Not, TagIs, walk
from tenure.segments.scores import current_scores
from tenure.storage.jsonfields import json_get

_UTC = dt.Timestamp(timezone="UTC")


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(ZoneInfo("UTC"))


class Compiler:
    """Builds the member expression of a rule as of `end` (a shop-local day, inclusive)."""

    def __init__(
        self, con: BaseBackend, zone: ZoneInfo, end: date, tags: dict[str, list[str]] | None = None
    ) -> None:
        self.con, self.zone, self.end = con, zone, end
        self.tags = tags or {}
        self._columns: dict[int, str] = {}

    def members(self, rule: Node) -> ir.Table:
        """(user_id) of every user the rule matches, each once."""
        nodes = walk(rule)
        sources = {n.field.source for n in nodes if isinstance(n, Cond)}
        if sources & {"user", "attribute", "feature"}:
            base = profile_table(self.con, self.zone, self.end)
        else:
            base = people(self.con, self.zone)
        models = sorted({n.field.model for n in nodes if isinstance(n, Cond) and n.field.model})
        for model in models:
            scores = current_scores(self.con, model)
            base = self._attach(base, scores.select("user_id", **{f"_s_{model}": scores["values"]}))
        for i, node in enumerate(nodes):
            if isinstance(node, (Did, DidNotFollow, TagIs)):
                column = f"_x{i}"
                self._columns[id(node)] = column
                base = self._attach(base, self._leaf_table(node, column))
        matched = base.filter(self._expr(rule, base))
        return matched.select("user_id").distinct()

    def _attach(self, base: ir.Table, extra: ir.Table) -> ir.Table:
        return base.left_join(extra, "user_id").select(~s.endswith("_right"))

    def _leaf_table(self, node: Did | DidNotFollow | TagIs, column: str) -> ir.Table:
        if isinstance(node, TagIs):
            users = self.tags.get(node.key, [])
            frame = pd.DataFrame({"user_id": pd.Series(users, dtype="string"), column: 1})
            table = ibis.memtable(frame, schema={"user_id": "string", column: "int64"})
            return table
        if isinstance(node, Did):
            rows = daily(node.activity, self.con, self.zone)
            rows = rows.filter(rows.day <= self.end)
            if node.days is not None:
                rows = rows.filter(rows.day > self.end - timedelta(days=node.days))
            return rows.group_by("user_id").aggregate(**{column: rows.n.sum().cast("int64")})
        return self._not_followed(node, column)

    def _instants(self, activity: Activity) -> ir.Table:
        """(user_id, ts) of each occurrence of an activity."""
        if activity.kind == "order":
            orders = self.con.table("orders")
            orders = orders.filter(orders.user_id.notnull() & (orders.status == "paid"))
            return orders.select("user_id", "ts")
        events = self.con.table("events")
        events = events.filter(
            events.user_id.notnull() & events.type.isin(["track", "page", "screen"])
        )
        if activity.kind == "event":
            events = events.filter(events.name == activity.name)
        rows = events.select("user_id", "ts")
        if activity.kind == "any":
            orders = self._instants(Activity(kind="order"))
            rows = rows.union(orders, distinct=False)
        return rows

    def _not_followed(self, node: DidNotFollow, column: str) -> ir.Table:
        end = ibis.literal(_local_midnight(self.end + timedelta(days=1), self.zone), type=_UTC)
        window = ibis.interval(hours=node.hours)
        first = self._instants(node.first)
        # An occurrence counts only once its whole window has passed.
        first = first.filter((first.ts < end) & (first.ts + window <= end))
        if node.days is not None:
            since = _local_midnight(self.end - timedelta(days=node.days - 1), self.zone)
            first = first.filter(first.ts >= ibis.literal(since, type=_UTC))
        first = first.distinct()
        then = self._instants(node.then).rename(then_user="user_id", then_ts="ts")
        joined = first.left_join(
            then,
            [
                first.user_id == then.then_user,
                then.then_ts > first.ts,
                then.then_ts <= first.ts + window,
            ],
        )
        per = joined.group_by(["user_id", "ts"]).aggregate(hits=joined.then_ts.count())
        lonely = per.filter(per.hits == 0)
        return lonely.group_by("user_id").aggregate(**{column: lonely.count().cast("int64")})

    def _expr(self, node: Node, t: ir.Table) -> ir.BooleanValue:
        if isinstance(node, Group):
            parts = [self._expr(child, t) for child in node.children]
            out = parts[0]
            for part in parts[1:]:
                out = (out & part) if node.kind == "all" else (out | part)
            return out
        if isinstance(node, Not):
            return ~self._expr(node.child, t)
        if isinstance(node, TagIs):
            return t[self._columns[id(node)]].notnull()
        if isinstance(node, DidNotFollow):
            return t[self._columns[id(node)]].notnull()
        if isinstance(node, Did):
            n = t[self._columns[id(node)]].fill_null(0)
            cond = n >= node.at_least
            if node.at_most is not None:
                cond = cond & (n <= node.at_most)
            return cond
        # Leaves are two-valued: a missing value never matches, and `not` of it always does.
        return self._cond(node, t).fill_null(False)

    def _column(self, cond: Cond, t: ir.Table) -> ir.Value:
        f = cond.field
        if f.source == "user":
            column = t["user_channel" if f.name == "channel" else f.name]
            return column.date() if f.kind == "date" and f.name != "birthday" else column
        if f.source == "feature":
            return t[f.name]
        if f.source == "attribute":
            raw = json_get(t.attributes, f.name, self.con.name)
        else:
            raw = json_get(t[f"_s_{f.model}"], f.name, self.con.name)
        if f.kind == "number" or (f.kind == "any" and _numeric(cond.value)):
            return raw.cast("float64")
        if f.kind == "date":
            return raw.cast("date")
        return raw

    def _cond(self, cond: Cond, t: ir.Table) -> ir.BooleanValue:
        column: Any = self._column(cond, t)
        op, value = cond.op, cond.value
        if op == "is_null":
            return column.isnull()
        if op == "is_not_null":
            return column.notnull()
        if isinstance(value, tuple) and op in ("in", "not_in"):
            values = [_as_text(v) if _textual(column) else v for v in value]
            return column.isin(values) if op == "in" else column.notin(values)
        if op == "between":
            return column.between(value[0], value[1])
        if _textual(column) and not isinstance(value, str):
            value = _as_text(value)
        if op == "contains":
            return column.contains(value)
        if op == "starts_with":
            return column.startswith(value)
        return {
            "eq": lambda: column == value,
            "ne": lambda: column != value,
            "gt": lambda: column > value,
            "gte": lambda: column >= value,
            "lt": lambda: column < value,
            "lte": lambda: column <= value,
        }[op]()


def _as_text(value: Any) -> str:
    """A value as JSON text reads back from a JSON field: true, false, 3, 2.5."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _numeric(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_numeric(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _textual(column: ir.Value) -> bool:
    return bool(column.type().is_string())
