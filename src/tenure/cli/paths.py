"""`tenure paths`: top paths after (or before) an event, and the Sankey transition table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Group
from rich.table import Table

from tenure.analytics.paths import PathsQuery, PathsResult, paths_runner
from tenure.cli.context import friendly, services
from tenure.cli.funnels import build, parse_day, parse_duration
from tenure.cli.output import FORMAT_HELP, OUT_HELP, emit, output_format
from tenure.ingest.tracking.flush import flush_inbox


def run_query(query: PathsQuery) -> PathsResult:
    """Flush waiting events, then answer on the configured warehouse."""
    svc = services()
    flush_inbox(svc.settings, svc.database, svc.warehouse)
    runner = paths_runner(query, svc.settings.zone)
    runner.validate()
    with svc.warehouse.reader() as con:
        return runner(con)


def paths_frame(result: PathsResult) -> pd.DataFrame:
    """One row per top path."""
    return pd.DataFrame(
        [
            {"path": " → ".join(p.path), "sessions": p.sessions, "users": p.users, "share": p.share}
            for p in result.paths
        ],
        columns=["path", "sessions", "users", "share"],
    )


def transitions_frame(result: PathsResult) -> pd.DataFrame:
    """The Sankey table: step, source, target, sessions."""
    return pd.DataFrame(
        [t.model_dump() for t in result.transitions],
        columns=["step", "source", "target", "sessions"],
    )


def result_table(result: PathsResult) -> Group:
    """Top paths, then the transitions."""
    where = result.start or ("session start" if result.direction == "after" else "session end")
    paths = Table(
        "path", "sessions", "users", "share", title=f"top paths {result.direction} {where}"
    )
    for p in result.paths:
        paths.add_row(" → ".join(p.path), f"{p.sessions:,}", f"{p.users:,}", f"{p.share:.1%}")
    moves = Table("step", "source", "target", "sessions", title="transitions")
    for t in result.transitions:
        moves.add_row(str(t.step), t.source, t.target, f"{t.sessions:,}")
    return Group(paths, moves)


@friendly
def paths(
    start: str | None = typer.Option(None, help="Start event (default: session start / end)."),
    direction: str = typer.Option("after", help="after or before the start event."),
    steps: int = typer.Option(5, help="Events after (before) the start."),
    gap: str = typer.Option("30m", help="Inactivity gap that ends a session: 30m, 1h."),
    top: int = typer.Option(20, help="How many paths to show."),
    collapse: bool = typer.Option(False, "--collapse", help="Merge repeats: A, A, B → A, B."),
    ignore: list[str] = typer.Option([], "--ignore", help="Leave an event out; repeatable."),
    since: str | None = typer.Option(None, help="First day of the start event (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, help="Last day of the start event (YYYY-MM-DD)."),
    transitions: bool = typer.Option(
        False, "--transitions", help="csv/parquet: write the transition table, not the paths."
    ),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Top paths in sessions split by inactivity, and a Sankey-ready transition table."""
    fmt = output_format(fmt, out)  # a bad --format/--out fails before the work
    query = build(
        PathsQuery,
        start=start,
        direction=direction,
        steps=steps,
        session_gap=parse_duration(gap, "session_gap"),
        top=top,
        collapse_repeats=collapse,
        ignore=tuple(ignore),
        since=parse_day(since, "since"),
        until=parse_day(until, "until"),
    )
    result = run_query(query)
    emit(
        fmt,
        out,
        as_json=lambda: result.model_dump(mode="json"),
        as_frame=lambda: transitions_frame(result) if transitions else paths_frame(result),
        as_table=lambda: result_table(result),
    )
