"""`tenure import`: read files, validate every row, then write all of it in one transaction."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.config import Settings
from tenure.ingest.currencies import (
    CurrencyWarning,
    new_order_currency,
    record_new_currency,
    spend_outside_orders,
)
from tenure.ingest.files.entities import EventsPlan, ItemsPlan, SpendPlan, UsersPlan
from tenure.ingest.files.errors import ImportRejected, NoFiles
from tenure.ingest.files.mapping import Mapping
from tenure.ingest.files.orders import OrdersPlan
from tenure.ingest.files.plans import Plan
from tenure.ingest.files.readers import (
    FILE_COLUMN,
    LINE_COLUMN,
    expand,
    is_parquet,
    parquet_view_sql,
    read_file,
)
from tenure.ingest.warnings import service as warnings
from tenure.kit.time import utc_now
from tenure.storage.database import Database
from tenure.storage.plausible import TimeWindow
from tenure.storage.warehouse import Warehouse
from tenure.storage.writers import WarehouseWriter

log = logging.getLogger(__name__)
PLANS: dict[str, type[Plan]] = {
    "orders": OrdersPlan,
    "events": EventsPlan,
    "users": UsersPlan,
    "items": ItemsPlan,
    "spend": SpendPlan,
}
SAMPLE_SIZE = 20
STAGING_MEMORY = "4GB"
BATCH_ROWS = 1_000_000
CHUNK_ROWS = 5_000_000
# Input files of this many bytes or more are staged in a DuckDB file instead of in memory.
STAGING_ON_DISK_BYTES = 256 * 1024 * 1024
Progress = Callable[[str, int, int], None]


@dataclass
class ImportSummary:
    """What an import read, rejected and wrote."""

    kind: str
    files: int
    rows: int
    rejected: int
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    rejects_report: str | None = None
    written: dict[str, int] = field(default_factory=dict)
    # Rows rejected for an implausible time, per reason (too_early, too_late).
    time_rejected: dict[str, int] = field(default_factory=dict)
    # A second currency of orders, or spend in a currency no order is in.
    warnings: list[CurrencyWarning] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary."""
        out = {
            "kind": self.kind,
            "files": self.files,
            "rows": self.rows,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            **self.figures,
            "rejects_report": self.rejects_report,
        }
        if self.time_rejected:
            out["time_rejected"] = self.time_rejected
        if self.warnings:
            out["warnings"] = [w.as_dict() for w in self.warnings]
        return out


def _load_raw(con: duckdb.DuckDBPyConnection, files: list[Path], progress: Progress | None) -> None:
    """Create the view `raw`: every file's rows as text with `_file` and `_line`."""
    parts: list[str] = []
    texts: list[pa.Table] = []
    for done, path in enumerate(files, start=1):
        if is_parquet(path):
            parts.append(parquet_view_sql(con, path))
        else:
            texts.append(read_file(path))
        if progress:
            progress("read", done, len(files))
    if texts:
        # Small text formats are parsed by Arrow; they become one registered table.
        con.register("_text_files", pa.concat_tables(texts, promote_options="permissive"))
        parts.append("SELECT * FROM _text_files")
    con.execute("CREATE VIEW raw AS " + " UNION ALL BY NAME ".join(parts))


def _staging_connection(scratch: Path, input_bytes: int) -> duckdb.DuckDBPyConnection:
    """A throw-away DuckDB for one import, with a memory cap: in memory for ordinary files, a
    database file in the import's scratch folder for large ones.

    On disk, tens of millions of staged rows live in a file that DuckDB's buffer manager pages
    normally; an in-memory database under the same cap has to evict its own tables to temp
    files, and crashed (segfault) aggregating 50M staged events. For small imports the file
    costs time (UCI Online Retail: 4.5 s instead of 3.0 s), so it is used only above a size.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    path = str(scratch / "staging.duckdb") if input_bytes >= STAGING_ON_DISK_BYTES else ":memory:"
    con = duckdb.connect(
        path, config={"memory_limit": STAGING_MEMORY, "temp_directory": str(scratch / "spill")}
    )
    con.execute("SET TimeZone = 'UTC'")
    return con


def _write_report(con: duckdb.DuckDBPyConnection, settings: Settings, kind: str) -> str:
    folder = settings.home / "rejects"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    con.execute(
        f"""COPY (SELECT t.{FILE_COLUMN} AS file, t.{LINE_COLUMN} AS line, t._reject AS reason,
                         r.* EXCLUDE ({FILE_COLUMN}, {LINE_COLUMN})
                  FROM typed t JOIN raw r USING ({FILE_COLUMN}, {LINE_COLUMN})
                  WHERE t._reject IS NOT NULL ORDER BY 1, 2)
            TO '{path}' (HEADER, DELIMITER ',')"""
    )
    return str(path)


def _sample(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute(
        f"""SELECT {FILE_COLUMN}, {LINE_COLUMN}, _reject FROM typed WHERE _reject IS NOT NULL
            ORDER BY {FILE_COLUMN}, {LINE_COLUMN} LIMIT {SAMPLE_SIZE}"""
    ).fetchall()
    return [{"file": f, "line": line, "reason": r} for f, line, r in rows]


def write_outputs(
    writer: WarehouseWriter,
    kind: str,
    queries: dict[str, str],
    con: duckdb.DuckDBPyConnection,
    scratch: Path,
) -> dict[str, int]:
    """Apply an import's rows, staged as Parquet files; keyed writes make a replay a no-op.

    Every output is written to Parquet by the staging connection before the warehouse reads it:
    no staging result stays open while the writer works, so the two DuckDB instances never hold
    their large intermediate results at the same time.
    """
    written: dict[str, int] = {}

    def whole(name: str) -> pa.RecordBatchReader:
        # One file: keyed upserts (order lines by order) need the whole output at once.
        return parquet_whole(con, queries[name], scratch / f"{name}.parquet")

    if "orders" in queries:
        written["orders"] = writer.upsert("orders", whole("orders"))
    if "order_lines" in queries:
        written["order_lines"] = writer.upsert(
            "order_lines", whole("order_lines"), key=("order_id",)
        )
    if "identities" in queries:
        # Before the events: they are written with the merged user id of every known alias.
        written["identities"] = writer.upsert("identities", whole("identities"))
    if "events" in queries:
        # Keyed inserts may go in parts (one copy of an id is kept either way), so the writer
        # stages a bounded number of rows at a time whatever the size of the import.
        parts = parquet_parts(con, queries["events"], scratch / "events", CHUNK_ROWS)
        written["events"] = sum(writer.insert_missing("events", part) for part in parts)
    if "users" in queries:
        written["users"] = writer.merge("users", whole("users"))
    if "items" in queries:
        written["items"] = writer.merge("items", whole("items"))
    if "spend" in queries:
        written["spend"] = writer.upsert("spend", whole("spend"))
    if written.get("identities"):
        writer.resolve_identities()
    return written


def parquet_parts(
    con: duckdb.DuckDBPyConnection, query: str, folder: Path, rows: int
) -> Iterator[pa.RecordBatchReader]:
    """A staging query written to Parquet files of about `rows` rows, read back one at a time."""
    group = min(100_000, rows)
    folder.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""COPY ({query}) TO '{folder}'
            (FORMAT parquet, ROW_GROUP_SIZE {group}, ROW_GROUPS_PER_FILE {max(1, rows // group)})"""
    )
    files = sorted(folder.glob("*.parquet"), key=lambda p: (len(p.stem), p.stem))
    for path in files:
        yield _read_back(path)


def parquet_whole(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> pa.RecordBatchReader:
    """A staging query written to one Parquet file (always created, even empty), read back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 100000)")
    return _read_back(path)


def _read_back(path: Path) -> pa.RecordBatchReader:
    """A Parquet file streamed in batches of BATCH_ROWS."""
    parquet = pq.ParquetFile(path)
    return pa.RecordBatchReader.from_batches(
        parquet.schema_arrow, parquet.iter_batches(batch_size=BATCH_ROWS)
    )


def import_files(
    kind: str,
    paths: list[str],
    *,
    settings: Settings,
    warehouse: Warehouse,
    mapping: Mapping | None = None,
    max_rejects: int = 0,
    progress: Progress | None = None,
    database: Database | None = None,
) -> ImportSummary:
    """Import files of one kind; raises ImportRejected (writing nothing) past `max_rejects`.

    Rows with a time outside the plausible window are rejected rows; with a `database`, their
    counts also go to ingestion_warnings (`tenure status`, GET /v1/ingestion/warnings).
    """
    started = time.perf_counter()
    mapping = mapping or Mapping()
    files = expand(paths)
    scratch = settings.home / "tmp" / f"import-{uuid.uuid4().hex}"
    con = _staging_connection(scratch, sum(f.stat().st_size for f in files))
    try:
        _load_raw(con, files, progress)
        columns = [row[0] for row in con.execute("DESCRIBE raw").fetchall()]
        plan = PLANS[kind](
            mapping=mapping,
            columns=columns,
            zone=mapping.zone(settings.zone),
            currency=(mapping.currency or settings.currency).upper(),
            bounds=TimeWindow.from_settings(settings).bounds(),
        )
        plan.stage(con)
        if _count(con, "typed") == 0:
            raise NoFiles(paths=", ".join(paths))
        if progress:
            progress("validate", 1, 1)
        rejected = _count_rejected(con)
        tallies = plan.time_tallies(con) if rejected else []
        if tallies and database is not None:
            database.write(partial(warnings.record, tallies=tallies, at=utc_now()))
        if rejected and max_rejects and isinstance(plan, OrdersPlan):
            plan.drop_partial_orders(con)
            rejected = _count_rejected(con)
        summary = ImportSummary(kind, len(files), _count(con, "typed"), rejected)
        summary.time_rejected = {t.reason: t.count for t in tallies}
        if rejected:
            summary.rejects_report = _write_report(con, settings, kind)
            if rejected > max_rejects:
                raise ImportRejected(rejected, summary.rows, _sample(con), summary.rejects_report)
        queries = plan.build(con)
        summary.figures = plan.summary(con)
        with warehouse.writer() as writer:
            before = writer.currencies("orders") if kind == "orders" else {}
            summary.written = write_outputs(writer, kind, queries, con, scratch)
            summary.warnings = _currency_warnings(writer, summary, before)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    if progress:
        progress("write", 1, 1)
    mixed = [w for w in summary.warnings if w.code == "currencies_mixed"]
    if database is not None and mixed:
        record_new_currency(database, warnings.import_source(kind), mixed[0])
    summary.seconds = time.perf_counter() - started
    log.info("imported %s: %s", kind, summary.as_dict())
    return summary


def _currency_warnings(
    writer: WarehouseWriter, summary: ImportSummary, before: dict[str, int]
) -> list[CurrencyWarning]:
    """A new second currency of orders, or spend in a currency that no order is in."""
    if summary.kind == "orders":
        found = new_order_currency(before, writer.currencies("orders"))
    elif summary.kind == "spend":
        spend = {str(code): 1 for code in summary.figures.get("spend", {})}
        found = spend_outside_orders(spend, writer.currencies("orders"))
    else:
        found = None
    return [found] if found is not None else []


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _count_rejected(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM typed WHERE _reject IS NOT NULL").fetchone()
    return int(row[0]) if row else 0
