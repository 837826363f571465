"""Per-user daily activity: the rollup retention and KPI queries read instead of raw events.

`activity_daily(user_id, day, source, n, revenue)` has one row per user, shop-local day and source:
`$order` (paid orders, revenue = amount), `$refund` (refund documents, negative revenue), `$page`,
`$screen`, or a track event's name. The same Ibis expression builds it from the raw tables (used on
Spark and when the rollup is stale) and maintains the stored table, so both are always equal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from tenure.kit.localtime import day_number, local_day, period_index
from tenure.storage.plausible import TimeWindow
from tenure.storage.schemas import ROLLUP_TABLES, column_ddl

log = logging.getLogger(__name__)
ORDER, REFUND, PAGE, SCREEN = "$order", "$refund", "$page", "$screen"
ROLLUP = "activity_daily"
USER_DAYS = "user_days"
USER_FIRST = "user_first"
USER_WEEKS = "user_weeks"
# Bumped when a rollup's definition changes: a warehouse built by an older version is rebuilt.
ROLLUP_VERSION = "5"  # 5: only rows inside the window of plausible times
STATE_NAME = f"{ROLLUP}/v{ROLLUP_VERSION}"
# Bits 0..62 of a signed 64-bit mask: activity on the first 63 days / weeks from a user's first.
MASK_BITS = 63
FIRST_KINDS = ("any", "event", "order")
FIRST_FIELDS = ("first", "next", "last", "days", "weeks")
_FIRST_COLUMNS = "user_id, " + ", ".join(
    f"{which}_{kind}" for kind in FIRST_KINDS for which in FIRST_FIELDS
)
ACTIVITY_TABLES = ("orders", "events")


def activity_expr(
    con: BaseBackend,
    zone: ZoneInfo,
    since: ir.Scalar | None = None,
    until: ir.Scalar | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> ir.Table:
    """activity_daily computed from orders and events (optionally only for instants in a range,
    and only for those inside a window of plausible times [lo, hi])."""
    backend = con.name
    orders = con.table("orders").filter(
        lambda o: o.user_id.notnull() & o.status.isin(["paid", "refunded"])
    )
    events = con.table("events").filter(
        lambda e: e.user_id.notnull() & e.type.isin(["track", "page", "screen"])
    )
    if since is not None:
        orders = orders.filter(orders.ts >= since)
        events = events.filter(events.ts >= since)
    if until is not None:
        orders = orders.filter(orders.ts < until)
        events = events.filter(events.ts < until)
    if window is not None:
        orders = orders.filter(orders.ts.between(*window))
        events = events.filter(events.ts.between(*window))
    order_rows = orders.select(
        user_id=orders.user_id,
        day=local_day(orders.ts, zone, backend),
        source=ibis.ifelse(orders.status == "paid", ORDER, REFUND),
        revenue=orders.amount,
    )
    event_source = ibis.cases(
        (events.type == "page", PAGE), (events.type == "screen", SCREEN), else_=events.name
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


def user_days_expr(activity: ir.Table) -> ir.Table:
    """user_days from activity rows: paid orders, events and net revenue per user and local day."""
    is_order = activity.source == ORDER
    is_money = activity.source.isin([ORDER, REFUND])
    is_event = ~is_money
    return activity.group_by(["user_id", "day"]).aggregate(
        orders=ibis.ifelse(is_order, activity.n, 0).sum().cast("int64"),
        events=ibis.ifelse(is_event, activity.n, 0).sum().cast("int64"),
        revenue=activity.revenue.sum(where=is_money),
    )


def _active(rows: ir.Table) -> dict[str, ir.BooleanValue]:
    """Per kind of user_first, whether a row (with orders and events counts) is active."""
    return {
        "any": (rows.orders + rows.events) > 0,
        "event": rows.events > 0,
        "order": rows.orders > 0,
    }


def _bits(offset: ir.IntegerValue, active: ir.BooleanValue) -> ir.IntegerScalar:
    """Bit `offset` set for each active row within MASK_BITS, summed: rows must be unique per
    offset, so that the sum of distinct powers of two is their bitwise or (Spark's Ibis compiler
    has no bitwise-or aggregate)."""
    inside = active & (offset >= 0) & (offset < MASK_BITS)
    # Engines evaluate the shift before the aggregate's filter: keep it in range everywhere.
    bit = ibis.literal(1, "int64") << ibis.ifelse(inside, offset, 0).cast("int64")
    return bit.sum(where=inside).fill_null(0)


def user_first_expr(days: ir.Table) -> ir.Table:
    """user_first from user_days: per user and kind, the first, next and last active local day,
    and which of the 63 days and weeks from the first one were active (bit k = first + k)."""
    ends = days.group_by("user_id").aggregate(
        **{f"first_{k}": days.day.min(where=active) for k, active in _active(days).items()},
        **{f"last_{k}": days.day.max(where=active) for k, active in _active(days).items()},
    )
    joined = days.join(ends, "user_id")
    per_user: dict[str, ir.Value] = {}
    for k, active in _active(joined).items():
        first = joined[f"first_{k}"]
        per_user[f"next_{k}"] = joined.day.min(where=active & (joined.day > first))
        # (user, day) rows are unique.
        per_user[f"days_{k}"] = _bits(day_number(joined.day) - day_number(first), active)
    nexts = joined.group_by("user_id").aggregate(**per_user)
    by_week = days.group_by(["user_id", period_index(days.day, "week").name("wk")]).aggregate(
        orders=days.orders.sum(), events=days.events.sum()
    )
    weeks = by_week.join(ends, "user_id")
    masks = weeks.group_by("user_id").aggregate(
        **{
            f"weeks_{k}": _bits(weeks.wk - period_index(weeks[f"first_{k}"], "week"), active)
            for k, active in _active(weeks).items()
        }
    )
    both = ends.join(nexts, "user_id").join(masks, "user_id")
    return both.select("user_id", *[f"{w}_{k}" for k in FIRST_KINDS for w in FIRST_FIELDS])


def user_weeks_expr(days: ir.Table) -> ir.Table:
    """user_weeks from user_days: orders, events and net revenue per user and local week."""
    weeks = days.mutate(week=days.day.truncate("W"))
    return weeks.group_by(["user_id", "week"]).aggregate(
        orders=weeks.orders.sum().cast("int64"),
        events=weeks.events.sum().cast("int64"),
        revenue=weeks.revenue.sum(),
    )


class RollupMaintainer:
    """Keeps activity_daily exact inside a DuckDB write transaction, touching only changed days."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, zone: ZoneInfo, window: TimeWindow | None = None
    ) -> None:
        self.con = con
        self.zone = zone
        self._marked = False
        # Rows outside the plausible times (as of this write) stay out of the rollups.
        self.bounds = (window or TimeWindow.default()).bounds()

    def _local_day_sql(self, column: str) -> str:
        return f"CAST(timezone('{self.zone.key}', {column}) AS DATE)"

    def mark(self, table: str, ts_query: str) -> None:
        """Record the days of rows a write is about to add, change or remove (`ts_query` -> ts)."""
        if table not in ACTIVITY_TABLES:
            return
        if not self._marked:
            self.con.execute("CREATE TEMP TABLE IF NOT EXISTS _dirty_days (day DATE)")
            self._marked = True
        self.con.execute(
            f"""INSERT INTO _dirty_days SELECT DISTINCT {self._local_day_sql("ts")}
                FROM ({ts_query}) WHERE ts BETWEEN ? AND ?""",
            list(self.bounds),
        )

    def _state_zone(self) -> str | None:
        row = self.con.execute(
            "SELECT zone FROM rollup_state WHERE name = ?", [STATE_NAME]
        ).fetchone()
        return str(row[0]) if row else None

    def refresh(self) -> None:
        """Rebuild the changed days, or everything when the rollup was built for another zone."""
        if self._state_zone() != self.zone.key:
            self.rebuild()
        elif self._marked:
            self._refresh_days()
        if self._marked:
            self.con.execute("DROP TABLE _dirty_days")
            self._marked = False

    def _sql(self, since: ir.Scalar | None = None, until: ir.Scalar | None = None) -> str:
        backend = ibis.duckdb.from_connection(self.con)
        expr = activity_expr(backend, self.zone, since, until, self.bounds)
        return str(ibis.to_sql(expr, dialect="duckdb"))

    def _user_days_sql(self) -> str:
        backend = ibis.duckdb.from_connection(self.con)
        return str(ibis.to_sql(user_days_expr(backend.table(ROLLUP)), dialect="duckdb"))

    def _per_user_sql(self, build: Callable[[ir.Table], ir.Table]) -> str:
        backend = ibis.duckdb.from_connection(self.con)
        return str(ibis.to_sql(build(backend.table(USER_DAYS)), dialect="duckdb"))

    def _refresh_per_user(self) -> None:
        """user_weeks for the weeks, user_first for the users, that the dirty days touch."""
        self.con.execute(
            """CREATE OR REPLACE TEMP TABLE _dirty_weeks AS
                SELECT DISTINCT date_trunc('week', day)::DATE AS week FROM _dirty_days"""
        )
        self.con.execute(f"DELETE FROM {USER_WEEKS} WHERE week IN (SELECT week FROM _dirty_weeks)")
        self.con.execute(
            f"""INSERT INTO {USER_WEEKS} SELECT user_id, week, orders, events, revenue
                FROM ({self._per_user_sql(user_weeks_expr)})
                WHERE week IN (SELECT week FROM _dirty_weeks)"""
        )
        self.con.execute(
            f"""INSERT INTO _touched_users SELECT DISTINCT user_id FROM {USER_DAYS}
                WHERE day IN (SELECT day FROM _dirty_days)"""
        )
        self.con.execute(
            f"DELETE FROM {USER_FIRST} WHERE user_id IN (SELECT user_id FROM _touched_users)"
        )
        self.con.execute(
            f"""INSERT INTO {USER_FIRST} SELECT {_FIRST_COLUMNS}
                FROM ({self._per_user_sql(user_first_expr)})
                WHERE user_id IN (SELECT user_id FROM _touched_users)"""
        )
        self.con.execute("DROP TABLE _dirty_weeks")
        self.con.execute("DROP TABLE _touched_users")

    def _refresh_days(self) -> None:
        row = self.con.execute("SELECT min(day), max(day) FROM _dirty_days").fetchone()
        if not row or row[0] is None:
            return
        # Any instant of a local day lies within a day of that day's UTC midnight.
        since = ibis.timestamp(f"{row[0].isoformat()} 00:00:00").cast(
            "timestamp('UTC')"
        ) - ibis.interval(days=1)
        until = ibis.timestamp(f"{row[1].isoformat()} 00:00:00").cast(
            "timestamp('UTC')"
        ) + ibis.interval(days=2)
        self.con.execute(f"DELETE FROM {ROLLUP} WHERE day IN (SELECT day FROM _dirty_days)")
        self.con.execute(
            f"""INSERT INTO {ROLLUP} SELECT user_id, day, source, n, revenue
                FROM ({self._sql(since, until)}) WHERE day IN (SELECT day FROM _dirty_days)"""
        )
        # Users who lose their rows on those days need their first days recomputed too.
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _touched_users AS SELECT DISTINCT user_id
                FROM {USER_DAYS} WHERE day IN (SELECT day FROM _dirty_days)"""
        )
        self.con.execute(f"DELETE FROM {USER_DAYS} WHERE day IN (SELECT day FROM _dirty_days)")
        self.con.execute(
            f"""INSERT INTO {USER_DAYS} SELECT user_id, day, orders, events, revenue
                FROM ({self._user_days_sql()}) WHERE day IN (SELECT day FROM _dirty_days)"""
        )
        self._refresh_per_user()

    def _recreate_tables(self) -> None:
        """Rollups are derived data: a rebuild recreates them in this version's shape."""

        for name, schema in ROLLUP_TABLES.items():
            cols = column_ddl(schema)
            if name == "rollup_state":
                self.con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({cols})')
                continue
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"')
            self.con.execute(f'CREATE TABLE "{name}" ({cols})')

    def rebuild(self) -> float:
        """Rebuild the whole rollup; returns the seconds it took."""
        started = time.perf_counter()
        self._recreate_tables()
        self.con.execute(
            f"INSERT INTO {ROLLUP} SELECT user_id, day, source, n, revenue FROM ({self._sql()})"
        )
        self.con.execute(
            f"""INSERT INTO {USER_DAYS} SELECT user_id, day, orders, events, revenue
                FROM ({self._user_days_sql()}) ORDER BY user_id, day"""
        )
        self.con.execute(
            f"""INSERT INTO {USER_WEEKS} SELECT user_id, week, orders, events, revenue
                FROM ({self._per_user_sql(user_weeks_expr)}) ORDER BY user_id, week"""
        )
        self.con.execute(
            f"""INSERT INTO {USER_FIRST} SELECT {_FIRST_COLUMNS}
                FROM ({self._per_user_sql(user_first_expr)})"""
        )
        self.con.execute("DELETE FROM rollup_state WHERE name LIKE ?", [f"{ROLLUP}%"])
        self.con.execute(
            "INSERT INTO rollup_state VALUES (?, ?, now())", [STATE_NAME, self.zone.key]
        )
        seconds = time.perf_counter() - started
        log.info("rebuilt %s for %s in %.2f s", ROLLUP, self.zone.key, seconds)
        return seconds
