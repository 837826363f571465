"""Per-user daily activity: the rollup every retention and KPI query reads instead of raw events.

`activity_daily(user_id, day, source, n, revenue)` has one row per user, shop-local day and source:
`$order` (paid orders, revenue = amount), `$refund` (refund documents, negative revenue), `$page`,
`$screen`, or a track event's name. The same Ibis expression builds it from the raw tables (used on
Spark and when the rollup is stale) and maintains the stored table, so both are always equal.
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenure.analytics.localtime import local_day
from tenure.errors import BadRequest

ORDER, REFUND, PAGE, SCREEN = "$order", "$refund", "$page", "$screen"
ROLLUP = "activity_daily"
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
        return cls(kind=kind)  # type: ignore[arg-type]

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


def activity_expr(
    con: BaseBackend, zone: str, since: ir.Scalar | None = None, until: ir.Scalar | None = None
) -> ir.Table:
    """activity_daily computed from orders and events (optionally only for instants in a range)."""
    backend = con.name
    orders = con.table("orders").filter(lambda o: o.user_id.notnull() & o.status.isin(["paid", "refunded"]))
    events = con.table("events").filter(lambda e: e.user_id.notnull() & e.type.isin(["track", "page", "screen"]))
    if since is not None:
        orders = orders.filter(orders.ts >= since)
        events = events.filter(events.ts >= since)
    if until is not None:
        orders = orders.filter(orders.ts < until)
        events = events.filter(events.ts < until)
    order_rows = orders.select(
        user_id=orders.user_id,
        day=local_day(orders.ts, zone, backend),
        source=ibis.ifelse(orders.status == "paid", ORDER, REFUND),
        revenue=orders.amount,
    )
    event_source = (
        ibis.case()
        .when(events.type == "page", PAGE)
        .when(events.type == "screen", SCREEN)
        .else_(events.name)
        .end()
    )
    event_rows = events.select(
        user_id=events.user_id,
        day=local_day(events.ts, zone, backend),
        source=event_source,
        revenue=ibis.null().cast(orders.amount.type()),
    )
    rows = order_rows.union(event_rows, distinct=False)
    return rows.group_by(["user_id", "day", "source"]).aggregate(
        n=rows.count().cast("int64"), revenue=rows.revenue.sum()
    )


def activity(con: BaseBackend, zone: str) -> ir.Table:
    """The activity rollup if it is stored for this zone, else the same rows computed live."""
    if ROLLUP in con.list_tables() and "rollup_state" in con.list_tables():
        state = con.table("rollup_state").filter(lambda s: s.name == ROLLUP).execute()
        if len(state) == 1 and state.zone.iloc[0] == zone:
            return con.table(ROLLUP)
    return activity_expr(con, zone)
