"""Backend writers: the few mutations ingestion needs, each keyed so replays change nothing."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any, Protocol, TypeAlias
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from tenure.storage.plausible import TimeWindow
from tenure.storage.rollups import RollupMaintainer
from tenure.storage.schemas import KEYS, ROLLUP_TABLES, TABLES, column_ddl, duckdb_type

Rows: TypeAlias = pa.Table | pa.RecordBatchReader


class WarehouseWriter(Protocol):
    """What ingestion may do to the warehouse."""

    def create_missing_tables(self) -> None:
        """Create the tables of schemas.TABLES that do not exist."""

    def upsert(self, table: str, data: Rows, key: tuple[str, ...] | None = None) -> int:
        """Replace rows whose key appears in `data`, then insert `data`."""

    def insert_missing(self, table: str, data: Rows) -> int:
        """Insert only the rows whose key is not present yet; returns how many."""

    def merge(self, table: str, data: Rows) -> int:
        """Merge rows by key: earliest first_seen, newer non-null fields, JSON objects merged."""

    def set_order_status(self, order_ids: list[str], status: str) -> int:
        """Set the status of existing orders."""

    def resolve_identities(self) -> None:
        """Rewrite events and orders to the merged user id of every known alias."""

    def order_amounts(self, order_ids: list[str]) -> dict[str, Decimal]:
        """The amounts of existing orders."""

    def count(self, table: str) -> int:
        """Rows in a table."""

    def currencies(self, table: str) -> dict[str, int]:
        """Rows per currency of `orders` (paid and refunded) or `spend`."""


def conform(table: str, data: pa.Table) -> pa.Table:
    """`data` with exactly the table's columns, in order, missing ones null."""
    schema = TABLES[table]
    columns = []
    for name, dtype in schema.items():
        arrow_type = dtype.to_pyarrow()
        if name in data.column_names:
            columns.append(data[name].cast(arrow_type))
        else:
            columns.append(pa.nulls(data.num_rows, type=arrow_type))
    return pa.table(columns, names=list(schema.names))


JSON_COLUMNS = ("attributes", "properties")


def _merge_expr(col: str, key: tuple[str, ...]) -> str:
    if col in key:
        return f's."{col}"'
    if col == "first_seen":
        return "least(o.first_seen, s.first_seen) AS first_seen"
    if col in JSON_COLUMNS:
        return (
            f"CASE WHEN o.{col} IS NULL THEN s.{col} WHEN s.{col} IS NULL THEN o.{col} "
            f"ELSE json_merge_patch(o.{col}, s.{col})::VARCHAR END AS {col}"
        )
    return f'coalesce(s."{col}", o."{col}") AS "{col}"'


class DuckDBWriter:
    """Writes through one DuckDB connection inside one transaction."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        zone: ZoneInfo = ZoneInfo("UTC"),
        window: TimeWindow | None = None,
    ) -> None:
        self.con = con
        self._staged = 0
        self.rollups = RollupMaintainer(con, zone, window)

    def begin(self) -> None:
        """Open the transaction."""
        self.con.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        """Bring the rollups up to date and commit; DuckDB has fsynced its log when this returns."""
        self.rollups.refresh()
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        """Undo everything of this writer."""
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")

    def create_missing_tables(self) -> None:
        """Create the tables of schemas.TABLES that do not exist."""
        for name, schema in {**TABLES, **ROLLUP_TABLES}.items():
            cols = column_ddl(schema)
            self.con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({cols})')

    def _stage(self, table: str, data: Rows) -> tuple[str, int]:
        """Copy `data` into a temp table with exactly the target's columns and types."""
        self._staged += 1
        source, staged = f"_src_{self._staged}", f"_stage_{table}_{self._staged}"
        self.con.register(source, data)
        present = set(data.schema.names)
        columns = ", ".join(
            f'CAST("{c}" AS {duckdb_type(t)}) AS "{c}"'
            if c in present
            else f'NULL::{duckdb_type(t)} AS "{c}"'
            for c, t in TABLES[table].items()
        )
        self.con.execute(f"CREATE TEMP TABLE {staged} AS SELECT {columns} FROM {source}")
        self.con.unregister(source)
        row = self.con.execute(f"SELECT count(*) FROM {staged}").fetchone()
        return staged, int(row[0]) if row else 0

    def _key_match(self, key: tuple[str, ...], left: str, right: str) -> str:
        return " AND ".join(f'{left}."{k}" = {right}."{k}"' for k in key)

    def upsert(self, table: str, data: Rows, key: tuple[str, ...] | None = None) -> int:
        """Replace rows whose key appears in `data`, then insert `data`."""
        staged, rows = self._stage(table, data)
        if rows:
            key = key or KEYS[table]
            match = self._key_match(key, f'"{table}"', "s")
            exists = f"EXISTS (SELECT 1 FROM {staged} s WHERE {match})"
            self.rollups.mark(
                table, f'SELECT ts FROM "{table}" WHERE {exists} UNION ALL SELECT ts FROM {staged}'
            )
            self.con.execute(f'DELETE FROM "{table}" WHERE {exists}')
            self.con.execute(f'INSERT INTO "{table}" SELECT * FROM {staged}')
        self.con.execute(f"DROP TABLE {staged}")
        return rows

    def insert_missing(self, table: str, data: Rows) -> int:
        """Insert only the rows whose key is not present yet; returns how many."""
        staged, rows = self._stage(table, data)
        added = 0
        if rows:
            key = KEYS[table]
            self.rollups.mark(table, f"SELECT ts FROM {staged}")
            match = self._key_match(key, "t", "s")
            keys = ", ".join(f'"{k}"' for k in key)
            source = self._resolved_events(staged) if table == "events" else staged
            # The first row of a key wins inside the batch too, so a batch may repeat itself.
            row = self.con.execute(
                f"""INSERT INTO "{table}"
                    SELECT * EXCLUDE (_rn) FROM (
                        SELECT s.*, row_number() OVER (PARTITION BY {keys}) AS _rn
                        FROM ({source}) s
                        WHERE NOT EXISTS (SELECT 1 FROM "{table}" t WHERE {match})
                    ) WHERE _rn = 1"""
            ).fetchone()
            added = int(row[0]) if row else 0
        self.con.execute(f"DROP TABLE {staged}")
        return added

    def merge(self, table: str, data: Rows) -> int:
        """Merge rows by key: earliest first_seen, newer non-null fields, JSON objects merged."""
        staged, rows = self._stage(table, data)
        if rows:
            key = KEYS[table]
            keys = ", ".join(f'"{k}"' for k in key)
            select = ", ".join(_merge_expr(col, key) for col in TABLES[table].names)
            self.con.execute(
                f"""CREATE TEMP TABLE _merged AS
                    SELECT {select} FROM (
                        SELECT * FROM {staged} QUALIFY row_number() OVER (PARTITION BY {keys}) = 1
                    ) s LEFT JOIN "{table}" o USING ({keys})"""
            )
            match = self._key_match(key, f'"{table}"', "m")
            self.con.execute(
                f'DELETE FROM "{table}" WHERE EXISTS (SELECT 1 FROM _merged m WHERE {match})'
            )
            self.con.execute(f'INSERT INTO "{table}" SELECT * FROM _merged')
            self.con.execute("DROP TABLE _merged")
        self.con.execute(f"DROP TABLE {staged}")
        return rows

    def set_order_status(self, order_ids: list[str], status: str) -> int:
        """Set the status of existing orders."""
        if not order_ids:
            return 0
        ids = ", ".join("'" + i.replace("'", "''") + "'" for i in order_ids)
        self.rollups.mark("orders", f"SELECT ts FROM orders WHERE order_id IN ({ids})")
        row = self.con.execute(
            "UPDATE orders SET status = ? WHERE order_id IN (SELECT unnest(?))", [status, order_ids]
        ).fetchone()
        return int(row[0]) if row else 0

    def resolve_identities(self) -> None:
        """Rewrite events and orders to the merged user id of every known alias."""
        self._collapse_identity_chains()
        for table in ("events", "orders"):
            self.rollups.mark(
                table,
                f"""SELECT t.ts FROM "{table}" t JOIN identities i
                    ON t.user_id = i.alias_id AND i.alias_id <> i.user_id""",
            )
        self.rollups.mark(
            "events",
            """SELECT e.ts FROM events e JOIN identities i
               ON e.user_id IS NULL AND e.anonymous_id = i.alias_id""",
        )
        for table in ("events", "orders"):
            self.con.execute(
                f"""UPDATE "{table}" SET user_id = i.user_id FROM identities i
                    WHERE "{table}".user_id = i.alias_id AND i.alias_id <> i.user_id"""
            )
        self.con.execute(
            """UPDATE events SET user_id = i.user_id FROM identities i
               WHERE events.user_id IS NULL AND events.anonymous_id = i.alias_id"""
        )

    def _resolved_events(self, staged: str) -> str:
        """Staged events with the merged user id of known aliases, as they are inserted.

        Rewriting millions of just-inserted rows afterwards (resolve_identities' UPDATE) is what
        large imports of anonymous browsing would otherwise spend their time and memory on.
        """
        self._collapse_identity_chains()
        merged = """coalesce(
            CASE WHEN iu.alias_id <> iu.user_id THEN iu.user_id END,
            CASE WHEN s.user_id IS NULL THEN ia.user_id END,
            s.user_id) AS user_id"""
        columns = ", ".join(
            merged if name == "user_id" else f's."{name}"' for name in TABLES["events"].names
        )
        # Plain equalities only: a join condition with `IS NULL` in it loses DuckDB's hash join
        # (5M staged rows then took minutes instead of two seconds).
        return f"""SELECT {columns} FROM {staged} s
            LEFT JOIN identities iu ON s.user_id = iu.alias_id
            LEFT JOIN identities ia ON s.anonymous_id = ia.alias_id"""

    def _collapse_identity_chains(self) -> None:
        # a -> b and b -> c become a -> c, so one pass of rewriting reaches the final id.
        for _ in range(8):
            row = self.con.execute(
                """UPDATE identities SET user_id = j.user_id FROM identities j
                   WHERE identities.user_id = j.alias_id AND j.alias_id <> j.user_id
                     AND identities.user_id <> j.user_id"""
            ).fetchone()
            if not row or int(row[0]) == 0:
                return

    def order_amounts(self, order_ids: list[str]) -> dict[str, Decimal]:
        """The amounts of existing orders."""
        rows = self.con.execute(
            "SELECT order_id, amount FROM orders WHERE order_id IN (SELECT unnest(?))", [order_ids]
        ).fetchall()
        return {str(order_id): Decimal(amount) for order_id, amount in rows if amount is not None}

    def count(self, table: str) -> int:
        """Rows in a table."""
        row = self.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        return int(row[0]) if row else 0

    def currencies(self, table: str) -> dict[str, int]:
        """Rows per currency of `orders` (paid and refunded) or `spend`."""
        where = "status IN ('paid', 'refunded') AND " if table == "orders" else ""
        rows = self.con.execute(
            f'SELECT currency, count(*) FROM "{table}" WHERE {where}currency IS NOT NULL '
            "GROUP BY currency"
        ).fetchall()
        return {str(code): int(n) for code, n in rows}

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read query inside the writer's transaction."""
        return self.con.execute(sql, params or []).fetchall()
