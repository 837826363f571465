"""Activity selectors over the per-user daily activity rollup (see storage/rollups.py)."""

from __future__ import annotations

import weakref
from typing import Literal
from zoneinfo import ZoneInfo

import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenure.errors import BadRequest
from tenure.storage.rollups import (
    ORDER,
    REFUND,
    ROLLUP,
    STATE_NAME,
    USER_DAYS,
    USER_FIRST,
    USER_WEEKS,
    activity_expr,
    user_days_expr,
    user_first_expr,
    user_weeks_expr,
)

_SYSTEM = (ORDER, REFUND)


class BadActivity(BadRequest):
    """An activity selector that cannot be used."""

    code = "analytics_bad_activity"


class Activity(BaseModel):
    """What counts as doing something: an order, any event, or one named event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["order", "any_event", "event", "any"] = "order"
    name: str | None = Field(default=None, description="The event name when kind is `event`.")

    @model_validator(mode="after")
    def _name_for_event(self) -> Activity:
        if self.kind == "event" and not self.name:
            raise BadActivity(reason="kind `event` needs a name")
        return self

    @classmethod
    def parse(cls, text: str) -> Activity:
        """From CLI text: `order`, `any_event`, `any`, or `event:NAME`."""
        kind, _, name = text.partition(":")
        if kind == "event":
            return cls(kind="event", name=name)
        if kind not in ("order", "any_event", "any") or name:
            raise BadActivity(reason=f"`{text}`: use order, any_event, any or event:NAME")
        return cls(kind=kind)

    def predicate(self, source: ir.StringValue) -> ir.BooleanValue:
        """Which activity_daily rows this selector means."""
        if self.kind == "order":
            return source == ORDER
        if self.kind == "event":
            return source == self.name
        if self.kind == "any_event":
            return ~source.isin(_SYSTEM)
        return source != REFUND

    def label(self) -> str:
        """Human label."""
        return self.name or self.kind if self.kind == "event" else self.kind


_FRESHNESS: weakref.WeakKeyDictionary[BaseBackend, dict[str, bool]] = weakref.WeakKeyDictionary()


def _fresh(con: BaseBackend, zone: ZoneInfo) -> bool:
    """Whether the stored rollups exist, are of this version and were built for this zone."""
    known = _FRESHNESS.setdefault(con, {})
    name = zone.key
    if name not in known:
        tables = set(con.list_tables())
        fresh = {ROLLUP, USER_DAYS, USER_FIRST, USER_WEEKS, "rollup_state"} <= tables
        if fresh:
            state = con.table("rollup_state").filter(lambda s: s.name == STATE_NAME).execute()
            fresh = len(state) == 1 and state.zone.iloc[0] == name
        # A reader connection lives for one operation, during which no writer can run.
        known[name] = fresh
    return known[name]


def is_stored(con: BaseBackend, zone: ZoneInfo) -> bool:
    """Whether analytics read stored rollups (True) or compute them live from raw tables."""
    return _fresh(con, zone)


def activity(con: BaseBackend, zone: ZoneInfo) -> ir.Table:
    """The activity rollup if it is stored for this zone, else the same rows computed live."""
    if _fresh(con, zone):
        return con.table(ROLLUP)
    live = activity_expr(con, zone)
    # Engines without the stored rollup compute it once per query, not once per sub-query.
    return live.cache() if con.name == "pyspark" else live


def user_days(con: BaseBackend, zone: ZoneInfo) -> ir.Table:
    """Per user and local day: paid orders, events, net revenue (stored, or computed live)."""
    if _fresh(con, zone):
        return con.table(USER_DAYS)
    return user_days_expr(activity(con, zone))


def user_first(con: BaseBackend, zone: ZoneInfo) -> ir.Table:
    """Per user: first local day with any activity, with an event, with a paid order."""
    if _fresh(con, zone):
        return con.table(USER_FIRST)
    return user_first_expr(user_days(con, zone))


def user_weeks(con: BaseBackend, zone: ZoneInfo) -> ir.Table:
    """Per user and local week (its Monday): paid orders, events, net revenue."""
    if _fresh(con, zone):
        return con.table(USER_WEEKS)
    return user_weeks_expr(user_days(con, zone))


def daily(selector: Activity, con: BaseBackend, zone: ZoneInfo) -> ir.Table:
    """(user_id, day, n): how often each user did the selected activity on each local day."""
    if selector.kind == "event":
        rows = activity(con, zone)
        rows = rows.filter(rows.source == selector.name)
        return rows.select("user_id", "day", "n")
    days = user_days(con, zone)
    n = {"order": days.orders, "any_event": days.events, "any": days.orders + days.events}[
        selector.kind
    ]
    return days.select("user_id", "day", n=n).filter(lambda t: t.n > 0)
