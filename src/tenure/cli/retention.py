"""`tenure retention`: cohort matrix, value retention and the day-N table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.table import Table

from tenure.analytics.activity import Activity
from tenure.analytics.currency import CURRENCY_HELP
from tenure.analytics.retention import RetentionQuery, RetentionResult, RetentionRunner
from tenure.cli.context import day_option, friendly, services
from tenure.cli.output import (
    FORMAT_HELP,
    OUT_HELP,
    Columns,
    Grid,
    currency_note,
    emit,
    output_format,
)
from tenure.ingest.tracking.flush import flush_inbox


def run_query(query: RetentionQuery) -> RetentionResult:
    """Flush waiting events, then answer on the configured warehouse."""
    svc = services()
    flush_inbox(svc.settings, svc.database, svc.warehouse)
    with svc.warehouse.reader() as con:
        return RetentionRunner(query, svc.settings.zone)(con)


def result_json(result: RetentionResult, value: bool) -> dict[str, Any]:
    """The documented JSON shape (value fields only when asked for)."""
    keep = {"cohort", "segment", "size", "retained", "rate"}
    if value:
        keep |= {"revenue", "revenue_per_user", "ltv"}
    cohorts = []
    for row in result.cohorts:
        item = row.model_dump(mode="json", include=keep)
        if row.segment is None:
            item.pop("segment", None)
        cohorts.append(item)
    days = [d.model_dump(mode="json", exclude_none=True) for d in result.day_n]
    return {
        "period": result.period,
        "start": result.start,
        "return": result.returning,
        "observed_until": str(result.observed_until) if result.observed_until else None,
        "cohorts": cohorts,
        "day_n": days,
    }


def result_frame(result: RetentionResult) -> pd.DataFrame:
    """One row per cohort and period offset."""
    rows = []
    for c in result.cohorts:
        for offset, users in enumerate(c.retained):
            rows.append(
                {
                    "cohort": c.cohort,
                    "segment": c.segment,
                    "size": c.size,
                    "offset": offset,
                    "retained": users,
                    "rate": c.rate[offset],
                    "revenue": c.revenue[offset],
                    "revenue_per_user": c.revenue_per_user[offset],
                    "ltv": c.ltv[offset],
                }
            )
    return pd.DataFrame(rows)


def result_table(result: RetentionResult, value: bool) -> Columns:
    """A cohort triangle of rates (or LTV); on a narrow terminal, the first periods that fit."""
    width = max((len(c.retained) for c in result.cohorts), default=0)
    what = "LTV" if value else "retention"
    title = f"{what} by {result.period} cohort ({result.start} → {result.returning})"
    segmented = any(c.segment is not None for c in result.cohorts)
    labels = ["cohort", *(["segment"] if segmented else []), "size"]
    grid = Grid(title, labels, [str(p) for p in range(width)])
    for c in result.cohorts:
        cells = [f"{v:,.2f}" for v in c.ltv] if value else [f"{r:.1%}" for r in c.rate]
        segment = [c.segment or ""] if segmented else []
        grid.add([str(c.cohort), *segment, f"{c.size:,}"], cells)
    return Columns(grid, what=result.period)


def day_n_table(result: RetentionResult) -> Table:
    """Day-N retention three ways."""
    table = Table(
        "day", "segment", "eligible", "on day N", "on or after", "within N", title="day-N retention"
    )
    for d in result.day_n:
        table.add_row(
            str(d.day),
            d.segment or "",
            f"{d.eligible:,}",
            f"{d.on_day_rate:.1%}",
            f"{d.on_or_after_rate:.1%}",
            f"{d.within_rate:.1%}",
        )
    return table


@friendly
def retention(
    period: str = typer.Option("week", help="day, week or month."),
    periods: int = typer.Option(12, help="Periods after the cohort's own."),
    start: str = typer.Option("order", help="order, any_event, any or event:NAME."),
    returning: str = typer.Option("order", "--return", help="order, any_event, any or event:NAME."),
    start_mode: str = typer.Option("first", "--start-mode", help="first or recurring."),
    min_occurrences: int = typer.Option(1, "--min-occurrences", help="Returns needed per period."),
    days: str = typer.Option("1,7,30", help="Day-N table columns."),
    breakdown: str | None = typer.Option(
        None, help="channel, country, first_category or first_order_channel."
    ),
    since: str | None = typer.Option(None, help="First cohort day (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, help="Observation end (YYYY-MM-DD)."),
    value: bool = typer.Option(False, "--value", help="Show revenue per user and LTV."),
    currency: str | None = typer.Option(None, "--currency", help=CURRENCY_HELP),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Cohort retention in the shop's time zone."""
    fmt = output_format(fmt, out)  # a bad --format/--out fails before the work
    query = RetentionQuery.model_validate(
        {
            "period": period,
            "periods": periods,
            "start": Activity.parse(start),
            "returning": Activity.parse(returning),
            "start_mode": start_mode,
            "min_occurrences": min_occurrences,
            "days": tuple(int(d) for d in days.split(",") if d.strip()),
            "breakdown": breakdown,
            "since": day_option(since, "--since"),
            "until": day_option(until, "--until"),
            "currency": currency,
        }
    )
    result = run_query(query)

    emit(
        fmt,
        out,
        as_json=lambda: result_json(result, value),
        as_frame=lambda: result_frame(result),
        as_table=lambda: [result_table(result, value), day_n_table(result)],
    )
    currency_note(result.currency, result.left_out_orders)
