"""Importing orders: order-level files and line-level files (one row per order line)."""

from __future__ import annotations

from typing import Any, ClassVar

import duckdb

from tenure.i18n import translate
from tenure.ingest.files import sql
from tenure.ingest.files.plans import Plan, reject, user_rows
from tenure.ingest.files.readers import FILE_COLUMN, LINE_COLUMN

LINE_LEVEL_FIELDS = ("sku", "quantity", "unit_price", "line_total")


class OrdersPlan(Plan):
    """Orders, their lines, and the users and items they reveal."""

    kind: ClassVar[str] = "orders"
    required: ClassVar[tuple[str, ...]] = ("ts",)

    @property
    def line_level(self) -> bool:
        """Whether rows are order lines rather than whole orders."""
        return any(self.has(f) for f in LINE_LEVEL_FIELDS)

    def fields(self) -> tuple[list[tuple[str, str]], list[sql.Check]]:
        """Typed columns and row checks."""
        m = self.mapping
        ts_raw, ts = self.raw("ts"), sql.timestamp(self.raw("ts"), m.date_format, self.zone)
        order_raw = sql.identifier(self.sources.get("order_id")) if self.has("order_id") else None
        status_raw = self.raw("status")
        status = sql.status(status_raw) if self.has("status") else "'paid'"
        if m.refund_prefix and order_raw:
            status = f"CASE WHEN starts_with({order_raw}, {sql.literal(m.refund_prefix)}) THEN 'refunded' ELSE {status} END"
        currency = f"upper(coalesce({self.raw('currency')}, {sql.literal(self.currency)}))"
        columns = [
            ("order_id", order_raw or "NULL::VARCHAR"),
            ("user_id", sql.identifier(self.sources.get("user_id"))),
            ("ts", ts),
            ("status", status),
            ("currency", currency),
            ("channel", self.raw("channel")),
            ("country", self.raw("country")),
            ("properties", sql.json_object(self.unmapped)),
        ]
        checks = [
            sql.Check.missing("ts", ts_raw),
            sql.Check.unreadable("ts", ts_raw, ts, "time"),
            *self.time_checks("ts", ts_raw, ts),
            sql.Check.rule(f"NOT regexp_matches({currency}, '^[A-Z]{{3}}$')", "currency"),
        ]
        if self.has("status"):
            checks.append(sql.Check.unreadable("status", status_raw, status, "status"))
        if order_raw:
            checks.append(sql.Check.missing("order_id", order_raw))
        if self.line_level:
            columns, checks = self._line_fields(columns, checks)
        else:
            amount_raw = self.raw("amount")
            amount = sql.money(amount_raw)
            columns.append(("amount", amount))
            checks += [
                sql.Check.missing("amount", amount_raw),
                sql.Check.unreadable("amount", amount_raw, amount, "number"),
            ]
        return columns, checks

    def _line_fields(
        self, columns: list[tuple[str, str]], checks: list[sql.Check]
    ) -> tuple[list[tuple[str, str]], list[sql.Check]]:
        qty_raw, price_raw, total_raw = (
            self.raw("quantity"),
            self.raw("unit_price"),
            self.raw("line_total"),
        )
        qty = sql.integer(qty_raw) if self.has("quantity") else "1::BIGINT"
        price, total = sql.money(price_raw), sql.money(total_raw)
        columns += [
            ("sku", sql.identifier(self.sources.get("sku"))),
            ("name", self.raw("name")),
            ("category", self.raw("category")),
            ("quantity", qty),
            ("unit_price_in", price),
            ("line_total_in", total),
        ]
        checks += [
            sql.Check.missing("sku", self.raw("sku")),
            sql.Check.unreadable("quantity", qty_raw, qty, "whole number"),
            sql.Check.unreadable("unit_price", price_raw, price, "number"),
            sql.Check.unreadable("line_total", total_raw, total, "number"),
            sql.Check.rule(f"{price_raw} IS NULL AND {total_raw} IS NULL", "no_price"),
        ]
        if self.has("quantity"):
            checks.append(sql.Check.missing("quantity", qty_raw))
        return columns, checks

    def cross_checks(self, con: duckdb.DuckDBPyConnection) -> None:
        """One customer per order; an order id repeated with different content is an error."""
        if not self.has("order_id"):
            self._derive_order_ids(con)
        if self.line_level:
            reject(
                con,
                """order_id IN (SELECT order_id FROM typed GROUP BY order_id
                                HAVING count(DISTINCT user_id) > 1)""",
                translate("import.reason.many_customers"),
            )
            return
        reject(
            con,
            """order_id IN (SELECT order_id FROM (
                   SELECT DISTINCT order_id, user_id, ts, amount, status, currency FROM typed)
               GROUP BY order_id HAVING count(*) > 1)""",
            translate("import.reason.duplicate_order"),
        )

    def _derive_order_ids(self, con: duckdb.DuckDBPyConnection) -> None:
        # The n-th identical purchase of a row keeps the same id on every re-import.
        amount = "line_total_in" if self.line_level else "amount"
        con.execute(
            f"""UPDATE typed SET order_id = d.oid FROM (
                   SELECT {FILE_COLUMN} AS f, {LINE_COLUMN} AS l,
                          'h' || substr(md5(concat_ws('|', user_id, ts, {amount}, row_number() OVER (
                              PARTITION BY user_id, ts, {amount} ORDER BY {FILE_COLUMN}, {LINE_COLUMN}))), 1, 24) AS oid
                   FROM typed) d
               WHERE typed.{FILE_COLUMN} = d.f AND typed.{LINE_COLUMN} = d.l"""
        )

    def drop_partial_orders(self, con: duckdb.DuckDBPyConnection) -> None:
        """When some rows may be skipped, never keep part of an order."""
        reject(
            con,
            "_reject IS NULL AND order_id IN (SELECT order_id FROM typed WHERE _reject IS NOT NULL)",
            translate("import.reason.sibling_rejected"),
        )

    def build(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """Orders, lines, users and items from the good rows."""
        if self.line_level:
            self._build_lines(con)
        else:
            # Refunds are stored as negative documents whatever sign the file used.
            con.execute(
                """CREATE TABLE good_orders AS SELECT order_id, user_id, min(ts) AS ts,
                       any_value(status) AS status,
                       CASE WHEN any_value(status) = 'refunded' THEN -abs(any_value(amount))
                            ELSE any_value(amount) END AS amount,
                       any_value(currency) AS currency, any_value(channel) AS channel,
                       any_value(country) AS country, any_value(properties) AS properties
                   FROM typed WHERE _reject IS NULL GROUP BY order_id, user_id"""
            )
        out = {
            "orders": """SELECT order_id, user_id, ts, status, amount, currency, channel,
                                properties FROM good_orders""",
            "users": user_rows("good_orders"),
        }
        if self.line_level:
            out["order_lines"] = (
                "SELECT order_id, line_no, sku, quantity, unit_price, line_total, category FROM good_lines"
            )
            out[
                "items"
            ] = """SELECT sku, arg_max(name, ts) AS name, arg_max(category, ts) AS category,
                          arg_max(unit_price, ts) FILTER (WHERE quantity > 0 AND unit_price > 0) AS price
                   FROM good_lines GROUP BY sku"""
        return out

    def _build_lines(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            f"""CREATE TABLE good_lines AS
                WITH l AS (
                    SELECT *, CASE WHEN status = 'refunded' THEN -abs(quantity) ELSE quantity END AS q,
                           coalesce(line_total_in, CAST(quantity * unit_price_in AS DECIMAL(18, 4))) AS lt
                    FROM typed WHERE _reject IS NULL)
                SELECT order_id, user_id, ts, status, currency, channel, country, properties,
                       CAST(row_number() OVER (PARTITION BY order_id ORDER BY {FILE_COLUMN}, {LINE_COLUMN}) AS INTEGER) AS line_no,
                       sku, name, category, q AS quantity,
                       coalesce(unit_price_in, CASE WHEN quantity <> 0 THEN CAST(lt / quantity AS DECIMAL(18, 4)) END) AS unit_price,
                       CASE WHEN status = 'refunded' THEN -abs(lt) ELSE lt END AS line_total,
                       {FILE_COLUMN}, {LINE_COLUMN}
                FROM l"""
        )
        con.execute(
            f"""CREATE TABLE good_orders AS SELECT order_id, any_value(user_id) AS user_id,
                   min(ts) AS ts, arg_min(status, {LINE_COLUMN}) AS status,
                   CAST(sum(line_total) AS DECIMAL(18, 4)) AS amount,
                   any_value(currency) AS currency, any_value(channel) AS channel,
                   any_value(country) AS country, arg_min(properties, {LINE_COLUMN}) AS properties
                FROM good_lines GROUP BY order_id"""
        )

    def summary(self, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """Orders, refunds, customers, guest orders and net revenue per currency."""
        row = con.execute(
            """SELECT count(*) FILTER (WHERE status = 'paid'),
                      count(*) FILTER (WHERE status = 'refunded'),
                      count(*) FILTER (WHERE status = 'cancelled'),
                      count(DISTINCT user_id),
                      count(*) FILTER (WHERE user_id IS NULL AND status = 'paid')
               FROM good_orders"""
        ).fetchone() or (0, 0, 0, 0, 0)
        revenue = con.execute(
            """SELECT currency, CAST(sum(amount) AS DECIMAL(18, 2)) FROM good_orders
               WHERE status <> 'cancelled' GROUP BY currency ORDER BY currency"""
        ).fetchall()
        return {
            "orders": row[0],
            "refunds": row[1],
            "cancelled": row[2],
            "customers": row[3],
            "guest_orders": row[4],
            "revenue": {str(c): str(v) for c, v in revenue},
        }
