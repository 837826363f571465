"""`tenure funnel`: conversion through event steps, drop-off, time to convert, drop-out export."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Group
from rich.table import Table

from tenure.analytics.base import InvalidQuery
from tenure.analytics.funnels import (
    Breakdown,
    Exclusion,
    FunnelQuery,
    FunnelResult,
    FunnelRunner,
    funnel_runner,
)
from tenure.cli.context import friendly, services
from tenure.cli.output import FORMAT_HELP, OUT_HELP, Grid, Rows, emit, output_format
from tenure.ingest.tracking.flush import flush_inbox

T = TypeVar("T")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, field: str) -> timedelta:
    """`90s`, `30m`, `12h`, `7d`, `2w` or plain seconds."""
    match = _DURATION.match(text.lower())
    if not match:
        raise InvalidQuery(field=field, reason=f"`{text}`: use a number with s, m, h, d or w")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def parse_day(text: str | None, field: str) -> date | None:
    """A YYYY-MM-DD option."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidQuery(field=field, reason=f"`{text}` is not a YYYY-MM-DD day") from None


def build(model: Callable[..., T], **fields: Any) -> T:
    """A query model from CLI values; shape errors become InvalidQuery, not tracebacks."""
    try:
        return model(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "query"
        raise InvalidQuery(field=where, reason=first.get("msg", "is not valid")) from None


def with_runner(query: FunnelQuery, answer: Callable[[FunnelRunner, Any], T]) -> T:
    """Flush waiting events, then answer on the configured warehouse."""
    svc = services()
    flush_inbox(svc.settings, svc.database, svc.warehouse)
    runner = funnel_runner(query, svc.settings.zone)
    runner.validate()
    with svc.warehouse.reader() as con:
        return answer(runner, con)


def run_query(query: FunnelQuery) -> FunnelResult:
    """The funnel on the configured warehouse."""
    return with_runner(query, lambda runner, con: runner(con))


def result_frame(result: FunnelResult) -> pd.DataFrame:
    """One row per segment and step."""
    rows = []
    for seg in [result.overall, *result.segments]:
        for s in seg.steps:
            rows.append(
                {
                    "segment": seg.segment,
                    "step": s.step,
                    "name": s.name,
                    "users": s.users,
                    "conversion_rate": s.conversion_rate,
                    "step_conversion_rate": s.step_conversion_rate,
                    "dropped": s.dropped,
                    "median_seconds": s.median_seconds,
                    "median_seconds_from_start": s.median_seconds_from_start,
                }
            )
    return pd.DataFrame(rows)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: missing values as null."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")  # type: ignore[return-value]


def _span(seconds: float | None) -> str:
    if seconds is None:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def result_table(result: FunnelResult) -> Group:
    """The funnel overall, then each segment."""
    tables = []
    for seg in [result.overall, *result.segments]:
        title = f"{result.mode} funnel, {_span(result.window_seconds)} window"
        title += f" — {result.breakdown} = {seg.segment}" if seg.segment is not None else ""
        table = Table(
            "step", "event", "users", "of step 1", "of previous", "dropped", "median time",
            title=title,
        )  # fmt: skip
        for s in seg.steps:
            table.add_row(
                str(s.step),
                s.name,
                f"{s.users:,}",
                f"{s.conversion_rate:.1%}",
                f"{s.step_conversion_rate:.1%}",
                f"{s.dropped:,}",
                _span(s.median_seconds),
            )
        tables.append(table)
    return Group(*tables)


@friendly
def funnel(
    step: list[str] = typer.Option(..., "--step", help="An event name; repeat, in order."),
    window: str = typer.Option("7d", help="Conversion window from step 1: 30m, 12h, 7d, 2w."),
    mode: str = typer.Option("ordered", help="ordered, strict or unordered."),
    exclude: list[str] = typer.Option(
        [], "--exclude", help="NAME (between first and last step) or NAME:FROM:TO; repeatable."
    ),
    breakdown: str | None = typer.Option(
        None, help="An event property JSON path ($.category) or channel / country."
    ),
    since: str | None = typer.Option(None, help="First day of step 1 (YYYY-MM-DD, shop zone)."),
    until: str | None = typer.Option(None, help="Last day of step 1 (YYYY-MM-DD, shop zone)."),
    dropped_at: int | None = typer.Option(
        None, "--dropped-at", help="Export the people who reached step K but not K+1."
    ),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Funnel conversion in the shop's time zone, or the drop-outs after one step."""
    fmt = output_format(fmt, out)  # a bad --format/--out fails before the work
    query = build(
        FunnelQuery,
        steps=tuple(step),
        mode=mode,
        window=parse_duration(window, "window"),
        exclusions=tuple(Exclusion.parse(e) for e in exclude),
        breakdown=Breakdown.parse(breakdown) if breakdown else None,
        since=parse_day(since, "since"),
        until=parse_day(until, "until"),
    )
    if dropped_at is not None:
        at = dropped_at
        frame = with_runner(query, lambda runner, con: runner.dropped_frame(con, at))
        emit(
            fmt,
            out,
            as_json=lambda: records(frame),
            as_frame=lambda: frame,
            as_table=lambda: _dropped_table(frame, at),
        )
        return
    result = run_query(query)
    emit(
        fmt,
        out,
        as_json=lambda: result.model_dump(mode="json"),
        as_frame=lambda: result_frame(result),
        as_table=lambda: result_table(result),
    )


def _dropped_table(frame: pd.DataFrame, step: int) -> Rows:
    """Everyone who dropped out; the terminal shows the first rows and says how to get the rest."""
    grid = Grid(f"dropped after step {step}", list(frame.columns), [])
    for rec in frame.to_dict("records"):
        grid.add(["" if pd.isna(v) else str(v) for v in rec.values()], [])
    return Rows(grid)
