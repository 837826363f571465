"""`tenure report`: the self-contained HTML retention report."""

from __future__ import annotations

from pathlib import Path

import typer

from tenure.cli.context import console, friendly, services
from tenure.ingest.tracking.flush import flush_inbox


def write_report(out: Path, title: str | None = None) -> Path:
    """Flush waiting events, build the report from the warehouse, write it; returns the path."""
    from tenure.reports.html import build_report  # Plotly and every section: only when asked

    svc = services()
    flush_inbox(svc.settings, svc.database, svc.warehouse)
    with svc.warehouse.reader() as con:
        document = build_report(con, svc.settings.zone, title)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, "utf-8")
    return out.resolve()


@friendly
def report(
    out: Path = typer.Option(Path("report.html"), "--out", help="Where to write the HTML file."),
    title: str | None = typer.Option(None, help="Report title."),
) -> None:
    """Write the retention report: KPIs, cohorts, day-N, LTV, funnel and paths, offline HTML."""
    path = write_report(out, title)
    console.print(f"report written to {path}")
