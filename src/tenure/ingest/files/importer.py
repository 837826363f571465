"""`tenure import`: read files, validate every row, then write all of it in one transaction."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.config import Settings
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

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary."""
        return {
            "kind": self.kind,
            "files": self.files,
            "rows": self.rows,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            **self.figures,
            "rejects_report": self.rejects_report,
        }


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


def _staging_connection(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to TENURE_HOME/tmp instead of growing without bound."""
    spill = settings.home / "tmp"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": STAGING_MEMORY, "temp_directory": str(spill)})
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
    """Apply an import's rows, streamed from staging; keyed writes make a replay a no-op."""
    # Each output streams through its own cursor, so no result is held whole in Python.
    out = _Streams(queries, con)
    written: dict[str, int] = {}
    if "orders" in out:
        written["orders"] = writer.upsert("orders", out["orders"])
    if "order_lines" in out:
        written["order_lines"] = writer.upsert("order_lines", out["order_lines"], key=("order_id",))
    if "identities" in out:
        # Before the events: they are written with the merged user id of every known alias.
        written["identities"] = writer.upsert("identities", out["identities"])
    if "events" in out:
        # Keyed inserts may go in parts (one copy of an id is kept either way), so the writer
        # stages a bounded number of rows at a time whatever the size of the import. The parts
        # go through Parquet files: streaming tens of millions of rows straight from the staging
        # connection crashed DuckDB (segfault in the result stream under its memory limit).
        parts = parquet_parts(con, queries["events"], scratch / "events", CHUNK_ROWS)
        written["events"] = sum(writer.insert_missing("events", part) for part in parts)
    if "users" in out:
        written["users"] = writer.merge("users", out["users"])
    if "items" in out:
        written["items"] = writer.merge("items", out["items"])
    if "spend" in out:
        written["spend"] = writer.upsert("spend", out["spend"])
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
        parquet = pq.ParquetFile(path)
        yield pa.RecordBatchReader.from_batches(
            parquet.schema_arrow, parquet.iter_batches(batch_size=BATCH_ROWS)
        )


class _Streams:
    """Lazily opened Arrow streams over staging queries."""

    def __init__(self, queries: dict[str, str], con: duckdb.DuckDBPyConnection) -> None:
        self.queries, self.con = queries, con

    def __contains__(self, name: str) -> bool:
        return name in self.queries

    def __getitem__(self, name: str) -> pa.RecordBatchReader:
        cursor = self.con.cursor()
        return cursor.execute(self.queries[name]).to_arrow_reader(BATCH_ROWS)


def import_files(
    kind: str,
    paths: list[str],
    *,
    settings: Settings,
    warehouse: Warehouse,
    mapping: Mapping | None = None,
    max_rejects: int = 0,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import files of one kind; raises ImportRejected (writing nothing) past `max_rejects`."""
    started = time.perf_counter()
    mapping = mapping or Mapping()
    files = expand(paths)
    scratch = settings.home / "tmp" / f"import-{uuid.uuid4().hex}"
    con = _staging_connection(settings)
    try:
        _load_raw(con, files, progress)
        columns = [row[0] for row in con.execute("DESCRIBE raw").fetchall()]
        plan = PLANS[kind](
            mapping=mapping,
            columns=columns,
            zone=mapping.timezone or settings.timezone,
            currency=(mapping.currency or settings.currency).upper(),
        )
        plan.stage(con)
        if _count(con, "typed") == 0:
            raise NoFiles(paths=", ".join(paths))
        if progress:
            progress("validate", 1, 1)
        rejected = _count_rejected(con)
        if rejected and max_rejects and isinstance(plan, OrdersPlan):
            plan.drop_partial_orders(con)
            rejected = _count_rejected(con)
        summary = ImportSummary(kind, len(files), _count(con, "typed"), rejected)
        if rejected:
            summary.rejects_report = _write_report(con, settings, kind)
            if rejected > max_rejects:
                raise ImportRejected(rejected, summary.rows, _sample(con), summary.rejects_report)
        queries = plan.build(con)
        summary.figures = plan.summary(con)
        with warehouse.writer() as writer:
            summary.written = write_outputs(writer, kind, queries, con, scratch)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    if progress:
        progress("write", 1, 1)
    summary.seconds = time.perf_counter() - started
    log.info("imported %s: %s", kind, summary.as_dict())
    return summary


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _count_rejected(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM typed WHERE _reject IS NOT NULL").fetchone()
    return int(row[0]) if row else 0
