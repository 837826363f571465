"""`tenure kpis` (KPI series with their change) and `tenure cac` (CAC, LTV, payback)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
import typer
from ibis.backends import BaseBackend
from pydantic import ValidationError

from tenure.analytics.base import AnalyticsQuery, InvalidQuery
from tenure.analytics.currency import CURRENCY_HELP
from tenure.analytics.kpis import (
    AcquisitionQuery,
    AcquisitionResult,
    AcquisitionRunner,
    ChannelRow,
    KpiQuery,
    KpiResult,
    KpiRunner,
    KpiSeries,
)
from tenure.analytics.kpis.query import RATE_METRICS
from tenure.cli.context import err_console, friendly, services
from tenure.cli.funnels import parse_day
from tenure.cli.output import (
    FORMAT_HELP,
    OUT_HELP,
    Blocks,
    Columns,
    Grid,
    Prefer,
    currency_note,
    emit,
    output_format,
)
from tenure.i18n import translate
from tenure.ingest.tracking.flush import flush_inbox

Q = TypeVar("Q", bound=AnalyticsQuery)


@contextmanager
def _warehouse() -> Iterator[tuple[BaseBackend, ZoneInfo]]:
    """Flush waiting events, then a reader on the configured warehouse and the shop's zone."""
    svc = services()
    flush_inbox(svc.settings, svc.database, svc.warehouse)
    with svc.warehouse.reader() as con:
        yield con, svc.settings.zone


def run_kpis(query: KpiQuery) -> KpiResult:
    """Answer a KPI query on the configured warehouse."""
    with _warehouse() as (con, zone):
        return KpiRunner(query, zone)(con)


def run_acquisition(query: AcquisitionQuery) -> AcquisitionResult:
    """Answer an acquisition query on the configured warehouse."""
    with _warehouse() as (con, zone):
        return AcquisitionRunner(query, zone)(con)


def _day(text: str | None) -> date | None:
    return parse_day(text, "date")


def _query(query_type: type[Q], data: dict[str, Any]) -> Q:
    """The query from CLI options; a bad option is a friendly error, not a traceback."""
    try:
        return query_type.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "query"
        raise InvalidQuery(field=field, reason=first["msg"]) from None


def _cell(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric in RATE_METRICS:
        return f"{value:.1%}"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def series_frame(series: list[KpiSeries]) -> pd.DataFrame:
    """One row per metric (and segment) and period."""
    rows = [
        {"metric": s.metric, "segment": s.segment, **p.model_dump()}
        for s in series
        for p in s.points
    ]
    return pd.DataFrame(rows)


def kpi_table(result: KpiResult, show: int) -> Prefer:
    """Metrics down, the last `show` periods across, then the last change and the window total.

    When those columns do not fit the terminal, the same numbers turned: periods down, metrics
    across (over as many tables as the width needs), the change and the window total last.
    """
    periods = [p.period for p in result.series[0].points] if result.series else []
    shown = periods[-show:]
    title = f"KPIs by {result.period} ({result.zone}), {result.since} .. {result.until}"
    if len(shown) < len(periods):
        title += f" — last {len(shown)} of {len(periods)} periods"
    totals = result.totals.model_dump()
    wide = Grid(title, ["metric"], [*[str(p) for p in shown], "change", "window"])
    columns: list[list[str]] = []
    for s in result.series:
        points = s.points[-len(shown) :] if shown else []
        last = points[-1] if points else None
        rate = last.change_rate if last else None
        change = "–" if rate is None else f"{rate:+.1%}"
        cells = [*[_cell(s.metric, p.value) for p in points], change]
        cells.append(_cell(s.metric, totals.get(s.metric)))
        wide.add([s.metric], cells)
        columns.append(cells)
    turned = Grid(title, ["period"], [s.metric for s in result.series])
    for i, label in enumerate([*[str(p) for p in shown], "change", "window"]):
        turned.add([label], [cells[i] for cells in columns])
    return Prefer(wide, Blocks(turned))


def ltv_table(result: KpiResult) -> Columns:
    """Cumulative net revenue per customer by monthly first-order cohort (the months that fit)."""
    width = max((len(c.ltv) for c in result.ltv), default=0)
    grid = Grid("LTV by cohort", ["cohort", "customers"], [str(m) for m in range(width)])
    for c in result.ltv:
        grid.add([str(c.cohort), f"{c.customers:,}"], [f"{v:,.2f}" for v in c.ltv])
    return Columns(grid, what="month")


@friendly
def kpis(
    period: str = typer.Option("week", help="day, week or month."),
    since: str | None = typer.Option(None, help="A day in the first period (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, help="Last day observed (YYYY-MM-DD)."),
    metric: list[str] = typer.Option([], "--metric", "-m", help="Only these metrics (repeat)."),
    ltv_months: int = typer.Option(12, "--ltv-months", help="Months in the cohort LTV table."),
    show: int = typer.Option(12, help="Periods shown in the table format (0: all)."),
    ltv: bool = typer.Option(False, "--ltv", help="Also print the cohort LTV table."),
    currency: str | None = typer.Option(None, "--currency", help=CURRENCY_HELP),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """DAU/WAU/MAU, lifecycle counts, orders, revenue, buyers, conversion, AOV and more."""
    fmt = output_format(fmt, out)  # a bad --format/--out fails before the work
    names = [m.strip() for item in metric for m in item.split(",") if m.strip()]
    query = _query(
        KpiQuery,
        {
            "period": period,
            "since": _day(since),
            "until": _day(until),
            "metrics": tuple(names) or None,
            "ltv_months": ltv_months,
            "currency": currency,
        },
    )
    result = run_kpis(query)

    emit(
        fmt,
        out,
        as_json=lambda: result.model_dump(mode="json"),
        as_frame=lambda: series_frame(result.series),
        as_table=lambda: [kpi_table(result, show), *([ltv_table(result)] if ltv else [])],
    )
    currency_note(result.currency, result.left_out_orders)


def channels_frame(result: AcquisitionResult) -> pd.DataFrame:
    """One row per channel, LTV horizons as columns."""
    rows = []
    for row in [*result.channels, *([result.total] if result.total else [])]:
        item: dict[str, Any] = row.model_dump(exclude={"ltv", "margin_curve"})
        for h in row.ltv:
            item[f"ltv_{h.days}d"] = h.ltv
            item[f"ltv_{h.days}d_customers"] = h.customers
        rows.append(item)
    return pd.DataFrame(rows)


def channels_table(result: AcquisitionResult) -> Blocks:
    """Spend, new customers, CAC, LTV at each horizon and payback, per channel; on a narrow
    terminal the columns go over several tables, each with the channel."""
    horizons = [h.days for h in result.total.ltv] if result.total else []
    title = (
        f"acquisition {result.since} .. {result.until} ({result.zone}), revenue observed to "
        f"{result.observed_until}, margin {result.margin:.0%}"
    )
    columns = ["spend", "new customers", "CAC", *[f"LTV {d}d" for d in horizons]]
    grid = Grid(title, ["channel"], [*columns, f"payback ({result.period}s)"])
    for row in [*result.channels, *([result.total] if result.total else [])]:
        grid.add(
            [row.channel],
            [
                _cell("spend", row.spend),
                f"{row.new_customers:,}",
                _cell("cac", row.cac),
                *[_cell("ltv", h.ltv) for h in row.ltv],
                payback_cell(row),
            ],
        )
    return Blocks(grid)


@friendly
def acquisition(
    period: str = typer.Option("month", help="Payback and series unit: day, week or month."),
    since: str | None = typer.Option(None, help="First acquisition day (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, help="Last acquisition day (YYYY-MM-DD)."),
    margin: float = typer.Option(1.0, help="Gross margin share of revenue, 0 < margin <= 1."),
    horizons: str = typer.Option("30,90,180,365", help="LTV horizons in days."),
    currency: str | None = typer.Option(None, "--currency", help=CURRENCY_HELP),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """CAC and payback by acquisition channel from the spend table, with LTV against it."""
    fmt = output_format(fmt, out)  # a bad --format/--out fails before the work
    query = _query(
        AcquisitionQuery,
        {
            "period": period,
            "since": _day(since),
            "until": _day(until),
            "margin": margin,
            "horizons": tuple(d.strip() for d in horizons.split(",") if d.strip()),
            "currency": currency,
        },
    )
    result = run_acquisition(query)
    emit(
        fmt,
        out,
        as_json=lambda: result.model_dump(mode="json"),
        as_frame=lambda: channels_frame(result),
        as_table=lambda: channels_table(result),
    )
    currency_note(result.currency, result.left_out_orders)
    spend_notes(result)


def spend_notes(result: AcquisitionResult) -> None:
    """Say when spend is missing (so CAC and payback are), or left out for its currency."""
    if result.total is not None and result.total.spend is None:
        err_console.print(translate("cli.cac.no_spend"), soft_wrap=True)
    elif result.spend_missing:
        channels = ", ".join(result.spend_missing)
        err_console.print(translate("cli.cac.spend_missing", channels=channels), soft_wrap=True)
    if result.left_out_spend:
        spend = ", ".join(f"{v:,.2f} {c}" for c, v in result.left_out_spend.items())
        line = translate("cli.cac.spend_left_out", spend=spend, currency=result.currency)
        err_console.print(line, soft_wrap=True)


def payback_cell(row: ChannelRow) -> str:
    """Payback periods; `> N` when not reached in the N periods observed; – without CAC."""
    if row.payback_period is not None:
        return str(row.payback_period)
    if row.cac is None or not row.margin_curve:
        return "–"
    return f"> {len(row.margin_curve)}"
