"""`tenure init`, `serve`, `flush` and `status`."""

from __future__ import annotations

from contextlib import nullcontext

import typer
from rich.table import Table

from tenure.analytics.currency import held_currencies
from tenure.cli.context import console, emit_json, friendly, services
from tenure.cli.ports import require_port
from tenure.cli.signals import children_deaf_to_ctrl_c
from tenure.i18n import translate
from tenure.ingest.tracking.flush import flush_inbox, waiting_messages
from tenure.ingest.warnings.schemas import IngestionWarningOut
from tenure.ingest.warnings.service import recent as recent_warnings
from tenure.kit.time import utc_now
from tenure.storage.plausible import excluded_rows
from tenure.storage.schemas import TABLES

GRACEFUL_SHUTDOWN_SECONDS = 3
STATUS_WARNING_DAYS = 7


@friendly
def init() -> None:
    """Create the warehouse tables and migrate the database; safe to run twice."""
    svc = services()
    svc.settings.home.mkdir(parents=True, exist_ok=True)
    svc.warehouse.init()
    svc.database.upgrade()
    console.print(
        translate(
            "cli.init.done",
            warehouse=svc.settings.warehouse_url,
            database=svc.settings.sqlalchemy_url,
        ),
        soft_wrap=True,
    )


@friendly
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(
        1, help="Worker processes (PostgreSQL database recommended for >1)."
    ),
) -> None:
    """Run the HTTP API (tracking, admin) and the background inbox flusher."""
    import uvicorn

    require_port(host, port)
    svc = services()
    svc.warehouse.init()
    svc.database.upgrade()
    console.print(translate("cli.serve.open", url=f"http://{host}:{port}"), soft_wrap=True)
    # Ctrl-C reaches uvicorn's supervisor, which stops its workers (see children_deaf_to_ctrl_c).
    with children_deaf_to_ctrl_c() if workers > 1 else nullcontext():
        uvicorn.run(
            "tenure.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            # A stop (SIGTERM, Ctrl-C) gives requests in flight this long, then the flusher its
            # last flush (STOP_SECONDS): every process is gone within 10 s.
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )


@friendly
def flush() -> None:
    """Move tracked events waiting in the inbox into the warehouse now."""
    svc = services()
    count = flush_inbox(svc.settings, svc.database, svc.warehouse)
    console.print(translate("cli.flush.done", count=count))


@friendly
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Row counts of every warehouse table and the tracking inbox, the currencies of the orders,
    the stored rows analytics ignore for an implausible time, and recent ingestion warnings."""
    svc = services()
    window = svc.warehouse.window
    with svc.warehouse.reader(raw=True) as con:
        counts = {name: int(con.table(name).count().execute()) for name in TABLES}
        excluded = excluded_rows(con, window)
        currencies = held_currencies(con)
    counts["tracking_inbox"] = waiting_messages(svc.database)
    today = utc_now().date()
    rows = svc.database.read(lambda s: recent_warnings(s, today, STATUS_WARNING_DAYS))
    warnings = [IngestionWarningOut.of(row) for row in rows]
    if as_json:
        emit_json(
            {
                **counts,
                "currencies": currencies,
                "excluded_rows": excluded,
                "ingestion_warnings": [w.model_dump(mode="json") for w in warnings],
            }
        )
        return
    table = Table("table", "rows", title=str(svc.settings.warehouse_url))
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    if currencies:
        held = ", ".join(f"{code} ({n:,} orders)" for code, n in currencies.items())
        console.print(translate("cli.status.currencies", currencies=held))
    if any(excluded.values()):
        tolerance = str(window.tolerance)
        earliest = window.earliest.date().isoformat()
        console.print(translate("cli.status.excluded", earliest=earliest, tolerance=tolerance))
        for name, count in excluded.items():
            if count:
                console.print(f"  {name}: {count:,}")
    if not warnings:
        console.print(translate("cli.status.no_warnings", days=STATUS_WARNING_DAYS))
        return
    console.print(translate("cli.status.warnings", days=STATUS_WARNING_DAYS))
    listing = Table("day", "source", "reason", "count", "last")
    for w in warnings:
        listing.add_row(
            w.day.isoformat(), w.source, w.reason, f"{w.count:,}", w.last_at.isoformat()[:19]
        )
    console.print(listing)
