"""Importing events, users and items."""

from __future__ import annotations

from typing import Any, ClassVar

import duckdb

from tenure.ingest.files import sql
from tenure.ingest.files.plans import Plan, user_rows
from tenure.ingest.files.readers import FILE_COLUMN, LINE_COLUMN

_LAST_PER_KEY = f"QUALIFY row_number() OVER (PARTITION BY {{key}} ORDER BY {FILE_COLUMN} DESC, {LINE_COLUMN} DESC) = 1"


def _keep_last_per_key(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """Create `good`: the rows that passed, the last one in file order for each key."""
    con.execute(
        f"""CREATE TABLE good AS SELECT * EXCLUDE (_reject) FROM typed WHERE _reject IS NULL
            {_LAST_PER_KEY.format(key=key)}"""
    )


def _json_with_extras(plan: Plan, field: str) -> tuple[str, sql.Check | None]:
    """A JSON column: the mapped JSON column merged with the unmapped columns."""
    extras = sql.json_object(plan.unmapped)
    if not plan.has(field):
        return extras, None
    raw = plan.raw(field)
    valid = f"({raw} IS NULL OR (json_valid({raw}) AND json_type({raw}) = 'OBJECT'))"
    merged = (
        f"CASE WHEN NOT {valid} THEN NULL WHEN {raw} IS NULL THEN {extras} "
        f"WHEN {extras} IS NULL THEN {raw} ELSE CAST(json_merge_patch({extras}, {raw}) AS VARCHAR) END"
    )
    return merged, sql.Check.rule(f"NOT {valid}", "json_object", field=field)


class EventsPlan(Plan):
    """Behavioural events; ids derived from content when the file has none."""

    kind: ClassVar[str] = "events"
    required: ClassVar[tuple[str, ...]] = ("name", "ts")

    def fields(self) -> tuple[list[tuple[str, str]], list[sql.Check]]:
        """Typed columns and row checks."""
        ts_raw = self.raw("ts")
        ts = sql.timestamp(ts_raw, self.mapping.date_format, self.zone)
        props, props_check = _json_with_extras(self, "properties")
        user, anon = sql.identifier(self.sources.get("user_id")), self.raw("anonymous_id")
        columns = [
            ("event_id", self.raw("event_id")),
            ("type", f"coalesce(lower({self.raw('type')}), 'track')"),
            ("user_id", user),
            ("anonymous_id", anon),
            ("name", self.raw("name")),
            ("ts", ts),
            ("properties", props),
            ("received_at", sql.timestamp(self.raw("received_at"), None, self.zone)),
        ]
        checks = [
            sql.Check.missing("name", self.raw("name")),
            sql.Check.missing("ts", ts_raw),
            sql.Check.unreadable("ts", ts_raw, ts, "time"),
            *self.time_checks("ts", ts_raw, ts),
            sql.Check.rule(f"{user} IS NULL AND {anon} IS NULL", "no_identity"),
        ]
        if props_check:
            checks.append(props_check)
        return columns, checks

    def cross_checks(self, con: duckdb.DuckDBPyConnection) -> None:
        """Give id-less rows a content id; the n-th identical row keeps its id on re-import."""
        con.execute(
            f"""UPDATE typed SET event_id = d.eid FROM (
                   SELECT {FILE_COLUMN} AS f, {LINE_COLUMN} AS l,
                          'f' || substr(md5(concat_ws('|', user_id, anonymous_id, name, ts, properties,
                              row_number() OVER (PARTITION BY user_id, anonymous_id, name, ts, properties
                                                 ORDER BY {FILE_COLUMN}, {LINE_COLUMN}))), 1, 24) AS eid
                   FROM typed WHERE event_id IS NULL) d
               WHERE typed.{FILE_COLUMN} = d.f AND typed.{LINE_COLUMN} = d.l"""
        )

    def build(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """Events, the users they name, and anonymous-to-user links."""
        con.execute(
            """CREATE VIEW good AS SELECT *, NULL::VARCHAR AS channel, NULL::VARCHAR AS country
               FROM typed WHERE _reject IS NULL"""
        )
        return {
            "events": """SELECT event_id, type, user_id, anonymous_id, name, ts, properties,
                                coalesce(received_at, now()) AS received_at FROM good""",
            "users": user_rows("good"),
            "identities": """SELECT anonymous_id AS alias_id, arg_max(user_id, ts) AS user_id, max(ts) AS ts
                   FROM good WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL
                   GROUP BY anonymous_id""",
        }

    def summary(self, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """Events, distinct names and people."""
        row = con.execute(
            "SELECT count(*), count(DISTINCT name), count(DISTINCT coalesce(user_id, anonymous_id)) FROM good"
        ).fetchone() or (0, 0, 0)
        return {"events": row[0], "event_names": row[1], "people": row[2]}


class UsersPlan(Plan):
    """User profiles; the last row of a user in the files wins."""

    kind: ClassVar[str] = "users"
    required: ClassVar[tuple[str, ...]] = ("user_id",)

    def fields(self) -> tuple[list[tuple[str, str]], list[sql.Check]]:
        """Typed columns and row checks."""
        zone, fmt = self.zone, self.mapping.date_format
        signup_raw, seen_raw, bday_raw = (
            self.raw("signup_at"),
            self.raw("first_seen"),
            self.raw("birthday"),
        )
        signup, seen = sql.timestamp(signup_raw, fmt, zone), sql.timestamp(seen_raw, fmt, zone)
        birthday = sql.date(bday_raw)
        attributes, attr_check = _json_with_extras(self, "attributes")
        user = sql.identifier(self.sources.get("user_id"))
        columns = [
            ("user_id", user),
            ("signup_at", signup),
            ("first_seen", f"coalesce({seen}, {signup})"),
            ("channel", self.raw("channel")),
            ("country", self.raw("country")),
            ("birthday", birthday),
            ("attributes", attributes),
        ]
        checks = [
            sql.Check.missing("user_id", user),
            sql.Check.unreadable("signup_at", signup_raw, signup, "time"),
            sql.Check.unreadable("first_seen", seen_raw, seen, "time"),
            *self.time_checks("signup_at", signup_raw, signup),
            *self.time_checks("first_seen", seen_raw, seen),
            sql.Check.unreadable("birthday", bday_raw, birthday, "date"),
        ]
        if attr_check:
            checks.append(attr_check)
        return columns, checks

    def build(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """One row per user."""
        _keep_last_per_key(con, "user_id")
        return {
            "users": """SELECT user_id, first_seen, signup_at, channel, country, birthday,
                               attributes, NULL::TIMESTAMPTZ AS updated_at FROM good"""
        }

    def summary(self, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """Users."""
        row = con.execute("SELECT count(*) FROM good").fetchone() or (0,)
        return {"users": row[0]}


class SpendPlan(Plan):
    """Acquisition spend per day and channel (for CAC); a later row for the same day wins."""

    kind: ClassVar[str] = "spend"
    required: ClassVar[tuple[str, ...]] = ("day", "channel", "amount")

    def fields(self) -> tuple[list[tuple[str, str]], list[sql.Check]]:
        """Typed columns and row checks."""
        day_raw, amount_raw, channel = self.raw("day"), self.raw("amount"), self.raw("channel")
        fmt = self.mapping.date_format
        day = (
            f"CAST(try_strptime({day_raw}, {sql.literal(fmt)}) AS DATE)"
            if fmt
            else sql.date(day_raw)
        )
        amount = sql.money(amount_raw)
        currency = f"upper(coalesce({self.raw('currency')}, {sql.literal(self.currency)}))"
        columns = [("day", day), ("channel", channel), ("amount", amount), ("currency", currency)]
        checks = [
            sql.Check.missing("day", day_raw),
            sql.Check.unreadable("day", day_raw, day, "date"),
            *self.time_checks("day", day_raw, day, is_date=True),
            sql.Check.missing("channel", channel),
            sql.Check.missing("amount", amount_raw),
            sql.Check.unreadable("amount", amount_raw, amount, "number"),
            sql.Check.rule(f"{amount} < 0", "negative", field="amount"),
        ]
        return columns, checks

    def build(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """One row per day and channel."""
        _keep_last_per_key(con, "day, channel")
        return {"spend": "SELECT day, channel, amount, currency FROM good"}

    def summary(self, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """Days, channels and total spend per currency."""
        row = con.execute(
            "SELECT count(DISTINCT day), count(DISTINCT channel) FROM good"
        ).fetchone() or (0, 0)
        totals = con.execute(
            "SELECT currency, CAST(sum(amount) AS DECIMAL(18, 2)) FROM good GROUP BY 1 ORDER BY 1"
        ).fetchall()
        return {"days": row[0], "channels": row[1], "spend": {str(c): str(v) for c, v in totals}}


class ItemsPlan(Plan):
    """The catalogue; the last row of a SKU wins."""

    kind: ClassVar[str] = "items"
    required: ClassVar[tuple[str, ...]] = ("sku",)

    def fields(self) -> tuple[list[tuple[str, str]], list[sql.Check]]:
        """Typed columns and row checks."""
        price_raw = self.raw("price")
        price = sql.money(price_raw)
        attributes, attr_check = _json_with_extras(self, "attributes")
        sku = sql.identifier(self.sources.get("sku"))
        columns = [
            ("sku", sku),
            ("name", self.raw("name")),
            ("category", self.raw("category")),
            ("price", price),
            ("attributes", attributes),
        ]
        checks = [
            sql.Check.missing("sku", sku),
            sql.Check.unreadable("price", price_raw, price, "number"),
        ]
        if attr_check:
            checks.append(attr_check)
        return columns, checks

    def build(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """One row per SKU."""
        _keep_last_per_key(con, "sku")
        return {"items": "SELECT sku, name, category, price, attributes FROM good"}

    def summary(self, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """Items."""
        row = con.execute("SELECT count(*) FROM good").fetchone() or (0,)
        return {"items": row[0]}
