"""`tenure init`, `serve`, `flush` and `status`."""

from __future__ import annotations

import typer
from rich.table import Table

from tenure.cli.context import console, emit_json, friendly, services
from tenure.i18n import translate
from tenure.ingest.tracking.flush import flush_inbox, waiting_messages
from tenure.storage.schemas import TABLES


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
        )
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

    svc = services()
    svc.warehouse.init()
    svc.database.upgrade()
    console.print(translate("cli.serve.open", url=f"http://{host}:{port}"))
    uvicorn.run(
        "tenure.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@friendly
def flush() -> None:
    """Move tracked events waiting in the inbox into the warehouse now."""
    svc = services()
    count = flush_inbox(svc.settings, svc.database, svc.warehouse)
    console.print(translate("cli.flush.done", count=count))


@friendly
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Row counts of every warehouse table and the tracking inbox."""
    svc = services()
    with svc.warehouse.reader() as con:
        counts = {name: int(con.table(name).count().execute()) for name in TABLES}
    counts["tracking_inbox"] = waiting_messages(svc.database)
    if as_json:
        emit_json(counts)
        return
    table = Table("table", "rows", title=str(svc.settings.warehouse_url))
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
