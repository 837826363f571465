"""The warehouse tables (see docs/architecture.md) as Ibis schemas, shared by every backend."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

MONEY = dt.Decimal(18, 4)
TS = dt.Timestamp(timezone="UTC")

TABLES: dict[str, ibis.Schema] = {
    "users": ibis.schema(
        {
            "user_id": dt.string,
            "first_seen": TS,
            "signup_at": TS,
            "channel": dt.string,
            "country": dt.string,
            "birthday": dt.date,
            "attributes": dt.string,  # JSON object
            "updated_at": TS,
        }
    ),
    "events": ibis.schema(
        {
            "event_id": dt.string,
            "type": dt.string,
            "user_id": dt.string,
            "anonymous_id": dt.string,
            "name": dt.string,
            "ts": TS,
            "properties": dt.string,  # JSON object
            "received_at": TS,
        }
    ),
    "orders": ibis.schema(
        {
            "order_id": dt.string,
            "user_id": dt.string,
            "ts": TS,
            "status": dt.string,
            "amount": MONEY,
            "currency": dt.string,
            "channel": dt.string,
            "properties": dt.string,
        }
    ),
    "order_lines": ibis.schema(
        {
            "order_id": dt.string,
            "line_no": dt.int32,
            "sku": dt.string,
            "quantity": dt.int64,
            "unit_price": MONEY,
            "line_total": MONEY,
            "category": dt.string,
        }
    ),
    "items": ibis.schema(
        {
            "sku": dt.string,
            "name": dt.string,
            "category": dt.string,
            "price": MONEY,
            "attributes": dt.string,
        }
    ),
    "identities": ibis.schema(
        {"alias_id": dt.string, "user_id": dt.string, "ts": TS},
    ),
    "spend": ibis.schema(
        {"day": dt.date, "channel": dt.string, "amount": MONEY, "currency": dt.string}
    ),
    "scores": ibis.schema(
        {
            "user_id": dt.string,
            "model": dt.string,
            "version": dt.string,
            "computed_at": TS,
            "values": dt.string,  # JSON object
        }
    ),
}

# Rollups maintained by the embedded writer (see analytics/activity.py); other engines compute live.
ROLLUP_TABLES: dict[str, ibis.Schema] = {
    "activity_daily": ibis.schema(
        {
            "user_id": dt.string,
            "day": dt.date,
            "source": dt.string,
            "n": dt.int64,
            "revenue": MONEY,
        }
    ),
    "user_days": ibis.schema(
        {
            "user_id": dt.string,
            "day": dt.date,
            "orders": dt.int64,
            "events": dt.int64,
            "revenue": MONEY,
        }
    ),
    # Per user and kind of activity (any, event, order): the first local day, the next day after
    # it, and the last day: cohort membership and the day-N table without scanning activity.
    "user_first": ibis.schema(
        {
            "user_id": dt.string,
            **{
                f"{which}_{kind}": dt.date if which in ("first", "next", "last") else dt.int64
                for kind in ("any", "event", "order")
                for which in ("first", "next", "last", "days", "weeks")
            },
        }
    ),
    # Per user and local week (Monday): the weekly cohort matrix without a per-query group-by.
    "user_weeks": ibis.schema(
        {
            "user_id": dt.string,
            "week": dt.date,
            "orders": dt.int64,
            "events": dt.int64,
            "revenue": MONEY,
        }
    ),
    "rollup_state": ibis.schema({"name": dt.string, "zone": dt.string, "built_at": TS}),
}

KEYS: dict[str, tuple[str, ...]] = {
    "users": ("user_id",),
    "events": ("event_id",),
    "orders": ("order_id",),
    "order_lines": ("order_id", "line_no"),
    "items": ("sku",),
    "identities": ("alias_id",),
    "scores": ("user_id", "model", "version"),
    "spend": ("day", "channel"),
}

ORDER_STATUSES = ("paid", "refunded", "cancelled")


def duckdb_type(dtype: dt.DataType) -> str:
    """The DuckDB column type for an Ibis type of our schemas."""
    if dtype.is_string():
        return "VARCHAR"
    if dtype.is_timestamp():
        return "TIMESTAMPTZ"
    if dtype.is_decimal():
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    if dtype.is_date():
        return "DATE"
    if dtype.is_int32():
        return "INTEGER"
    if dtype.is_int64():
        return "BIGINT"
    if dtype.is_float64():
        return "DOUBLE"
    if dtype.is_boolean():
        return "BOOLEAN"
    raise TypeError(f"no DuckDB type for {dtype}")


def column_ddl(schema: ibis.Schema) -> str:
    """The column list of a CREATE TABLE for one of our schemas."""
    return ", ".join(f'"{col}" {duckdb_type(typ)}' for col, typ in schema.items())
