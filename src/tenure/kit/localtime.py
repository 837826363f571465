"""Shop-local calendar arithmetic in Ibis, portable across DuckDB and Spark."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

_UTC = dt.Timestamp(timezone="UTC")
_NAIVE = dt.Timestamp()
PERIODS = ("day", "week", "month")


@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_local(zone_name: str, ts: _UTC) -> _NAIVE:  # type: ignore[valid-type]
    """DuckDB: the wall-clock time of an instant in the zone named `zone_name`."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_local(ts: _UTC, zone_name: str) -> _NAIVE:  # type: ignore[valid-type]
    """Spark: the wall-clock time of an instant in the zone named `zone_name`."""


def local_time(ts: ir.TimestampValue, zone: ZoneInfo, backend: str) -> ir.TimestampValue:
    """The shop-local wall-clock time of a UTC instant (DST-aware)."""
    name = zone.key  # the engines take the zone's IANA name
    if backend == "pyspark":
        return _spark_local(ts, name)
    return _duckdb_local(name, ts)


def local_day(ts: ir.TimestampValue, zone: ZoneInfo, backend: str) -> ir.DateValue:
    """The shop-local calendar day of a UTC instant."""
    return local_time(ts, zone, backend).date()


def period_start(day: ir.DateValue, period: str) -> ir.DateValue:
    """The first day of the day's period (weeks start on Monday)."""
    if period == "day":
        return day
    unit = {"week": "W", "month": "M"}[period]
    return day.truncate(unit)


def day_number(day: ir.DateValue) -> ir.IntegerValue:
    """Days since 1970-01-01, for exact day differences on every backend."""
    return day.epoch_days()


def period_index(day: ir.DateValue, period: str) -> ir.IntegerValue:
    """A running number of the day's period: consecutive periods differ by one."""
    if period == "month":
        return day.year() * 12 + day.month()
    days = day_number(period_start(day, period))
    return days if period == "day" else (days + 3) // 7  # 1970-01-01 was a Thursday
