"""Behavioural event rows (who did what, when) for funnels and paths, on DuckDB and Spark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis.backends import BaseBackend

# Identify / alias / group calls describe people, they are not things people did.
EVENT_TYPES = ("track", "page", "screen")
NONE = "(none)"
_UTC = dt.Timestamp(timezone="UTC")


@ibis.udf.scalar.builtin(name="json_extract_string")
def _duckdb_json(json: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB: the value at a JSON path, as text."""


@ibis.udf.scalar.builtin(name="get_json_object")
def _spark_json(json: str, path: str) -> str:  # type: ignore[empty-body]
    """Spark: the value at a JSON path, as text."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_micros(ts: _UTC) -> int:  # type: ignore[valid-type, empty-body]
    """DuckDB: microseconds since the epoch of an instant."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_micros(ts: _UTC) -> int:  # type: ignore[valid-type, empty-body]
    """Spark: microseconds since the epoch of an instant."""


def micros(ts: ir.TimestampValue, backend: str) -> ir.IntegerValue:
    """Microseconds since 1970-01-01 UTC: exact, equal on every backend, and cheap.

    Runners compare and subtract these integers instead of timestamps: time-zone aware
    timestamp arithmetic is many times slower on DuckDB.
    """
    if backend == "pyspark":
        return _spark_micros(ts)
    return _duckdb_micros(ts)


def json_value(column: ir.StringValue, path: str, backend: str) -> ir.StringValue:
    """The text at a JSON path (`$.category`) of a JSON-object column; null when absent."""
    if backend == "pyspark":
        return _spark_json(column, path)
    return _duckdb_json(column, path)


def person_events(con: BaseBackend, names: Sequence[str] | None = None) -> ir.Table:
    """Events as (person, anonymous, event_id, name, ts, us, properties), optionally `names` only.

    A person is the identity-merged user_id, or the anonymous_id of a visitor who never
    identified; `anonymous` tells them apart.
    """
    events = con.table("events")
    keep = events.type.isin(EVENT_TYPES) & events.name.notnull()
    keep &= events.user_id.notnull() | events.anonymous_id.notnull()
    if names is not None:
        keep &= events.name.isin(sorted(set(names)))
    events = events.filter(keep)
    return events.select(
        person=ibis.coalesce(events.user_id, events.anonymous_id),
        anonymous=events.user_id.isnull(),
        event_id=events.event_id,
        name=events.name,
        ts=events.ts,
        us=micros(events.ts, con.name),
        properties=events.properties,
    )


def utc_bounds(
    since: date | None, until: date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """The UTC instants [start, end) covering shop-local days since..until (inclusive)."""
    start = datetime.combine(since, time(0), tzinfo=zone).astimezone(UTC) if since else None
    end = (
        datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        if until
        else None
    )
    return start, end


def in_range(us: ir.IntegerValue, start: datetime | None, end: datetime | None) -> ir.BooleanValue:
    """Whether an instant (µs since the epoch) lies in [start, end); None leaves a side open."""
    cond: ir.BooleanValue = ibis.literal(True)
    if start is not None:
        cond &= us >= epoch_micros(start)
    if end is not None:
        cond &= us < epoch_micros(end)
    return cond


def epoch_micros(moment: datetime) -> int:
    """µs since 1970-01-01 UTC of an aware datetime, computed exactly in Python."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def event_names(con: BaseBackend, limit: int = 500) -> list[str]:
    """The names of the behavioural events the warehouse holds, alphabetically.

    Only track/page/screen events of someone (what funnels and paths read); when there are more
    than `limit` names, the `limit` most frequent ones.
    """
    events = con.table("events")
    keep = events.type.isin(EVENT_TYPES) & events.name.notnull()
    keep &= events.user_id.notnull() | events.anonymous_id.notnull()
    events = events.filter(keep)
    counts = events.group_by("name").aggregate(n=events.count())
    top = counts.order_by([ibis.desc("n"), ibis.asc("name")]).limit(limit).execute()
    return sorted(str(name) for name in top["name"])
