"""The window of plausible times: what ingestion accepts, and the rows analytics read.

A write key ships inside a shop's app, so anyone can send any timestamp. Ingestion refuses times
before `Settings.earliest_event_time` and clamps times further than `Settings.future_tolerance`
past their arrival (ingest/tracking/messages.py, ingest/files/). Rows stored outside the window
anyway (before this check existed, or written around ingestion) are hidden from every warehouse
reader (`Warehouse.reader()`, DuckDB and Spark alike) and from the stored rollups, so that one
extreme row cannot stretch an analysis over millennia. `tenure status` counts them.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from tenure.config import Settings
from tenure.kit.time import utc_now

# Rows whose time lies outside the window are hidden: table -> its time column.
ROW_TIMES: dict[str, str] = {"events": "ts", "orders": "ts", "spend": "day"}
# Values outside the window are read as NULL (the row stays): table -> its time columns.
VALUE_TIMES: dict[str, tuple[str, ...]] = {"users": ("first_seen", "signup_at")}
# A shop-local day may differ from the UTC day of an instant by one day either way.
_DAY_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class TimeWindow:
    """Plausible times run from `earliest` to `tolerance` after now (or after an arrival)."""

    earliest: datetime
    tolerance: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> TimeWindow:
        """The window the settings describe."""
        return cls(settings.earliest_event_time, settings.future_tolerance)

    @classmethod
    def default(cls) -> TimeWindow:
        """The window of the default settings (for connections opened without a Warehouse)."""
        fields = Settings.model_fields
        earliest = fields["earliest_event_time"].default
        tolerance = fields["future_tolerance"].default
        assert isinstance(earliest, datetime) and isinstance(tolerance, timedelta)
        return cls(earliest, tolerance)

    def latest(self, now: datetime | None = None) -> datetime:
        """The latest plausible time of something that arrived at `now`."""
        return (now or utc_now()) + self.tolerance

    def bounds(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """[earliest, latest] as aware UTC datetimes."""
        return self.earliest, self.latest(now)

    def days(self, now: datetime | None = None) -> tuple[date, date]:
        """The shop-local days a plausible time can fall on, in any zone."""
        lo, hi = self.bounds(now)
        return (lo - _DAY_SLACK).date(), (hi + _DAY_SLACK).date()


_WINDOWS: weakref.WeakKeyDictionary[BaseBackend, TimeWindow] = weakref.WeakKeyDictionary()


def register(con: BaseBackend, window: TimeWindow) -> None:
    """Remember the window a reader connection was opened with (see `window_of`)."""
    _WINDOWS[con] = window


def window_of(con: BaseBackend) -> TimeWindow:
    """The window of a reader connection: the warehouse's settings, else the defaults."""
    return _WINDOWS.get(con) or TimeWindow.default()


def _ts_sql(value: datetime) -> str:
    return f"TIMESTAMPTZ '{value.astimezone(UTC).isoformat(sep=' ')}'"


def _inside_sql(column: str, lo: str, hi: str) -> str:
    return f'"{column}" BETWEEN {lo} AND {hi}'


def install_duckdb_views(
    con: duckdb.DuckDBPyConnection, catalog: str, window: TimeWindow, now: datetime
) -> None:
    """Temporary views that shadow the time-bearing tables with their plausible rows.

    The views live in the connection's temp catalog (allowed on a read-only file), so every
    unqualified read of `events`, `orders`, `spend` or `users`, Ibis or SQL, sees the window.
    """
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'",
        [catalog],
    )
    present = {row[0] for row in tables.fetchall()}
    lo, hi = window.bounds(now)
    ts_lo, ts_hi = _ts_sql(lo), _ts_sql(hi)
    day_lo, day_hi = (f"DATE '{d.isoformat()}'" for d in window.days(now))
    for name, column in ROW_TIMES.items():
        if name not in present:
            continue
        bounds = (day_lo, day_hi) if column == "day" else (ts_lo, ts_hi)
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM "{catalog}".main."{name}"
                WHERE "{column}" IS NULL OR {_inside_sql(column, *bounds)}"""
        )
    for name, columns in VALUE_TIMES.items():
        if name not in present:
            continue
        replaced = ", ".join(
            f'CASE WHEN {_inside_sql(c, ts_lo, ts_hi)} THEN "{c}" END AS "{c}"' for c in columns
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW "{name}" AS
                SELECT * REPLACE ({replaced}) FROM "{catalog}".main."{name}\""""
        )


def _literal(value: datetime | date) -> ir.Value:
    if isinstance(value, datetime):
        return ibis.literal(value, type="timestamp('UTC')")
    return ibis.literal(value, type="date")


def outside(column: ir.Value, lo: datetime | date, hi: datetime | date) -> ir.BooleanValue:
    """Whether a time or date column holds a value outside [lo, hi] (NULL is not outside)."""
    assert isinstance(column, ir.TimestampValue | ir.DateValue)
    return column.notnull() & ((column < _literal(lo)) | (column > _literal(hi)))


def excluded_rows(
    con: BaseBackend, window: TimeWindow, now: datetime | None = None
) -> dict[str, int]:
    """Stored rows that readers hide (or whose time they read as NULL), per table.

    `con` must see the raw tables: `Warehouse.reader(raw=True)`.
    """
    now = now or utc_now()
    lo, hi = window.bounds(now)
    day_lo, day_hi = window.days(now)
    present = set(con.list_tables())
    counts: dict[str, int] = {}
    for name, column in ROW_TIMES.items():
        if name in present:
            table = con.table(name)
            bounds = (day_lo, day_hi) if column == "day" else (lo, hi)
            counts[name] = int(table.filter(outside(table[column], *bounds)).count().execute())
    for name, columns in VALUE_TIMES.items():
        if name in present:
            table = con.table(name)
            hit = ibis.or_(*(outside(table[c], lo, hi) for c in columns))
            counts[name] = int(table.filter(hit).count().execute())
    return counts
