"""Overview: headline KPIs with their change and trend, lifecycle stages and flows, churn-risk
bands, points liability and the running campaigns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from ibis.backends import BaseBackend

from tenure.analytics.kpis import KpiQuery, KpiRunner
from tenure.analytics.kpis.query import LOWER_IS_BETTER, MONEY_METRICS, RATE_METRICS
from tenure.campaigns.service import campaigns
from tenure.i18n import use_locale
from tenure.kit.time import utc_now
from tenure.loyalty.liability import liability
from tenure.loyalty.program import current_program
from tenure.operators.service import Who
from tenure.predict.churn.report import RiskBand, risk_band_counts
from tenure.segments import service as segments
from tenure.segments.lifecycle import LifecycleQuery, LifecycleResult, LifecycleRunner
from tenure.web import render
from tenure.web.cache import answer
from tenure.web.deps import database, reader
from tenure.web.sparkline import sparkline

router = APIRouter(include_in_schema=False)

TILES = ("revenue", "orders", "buyers", "new_users", "aov", "repurchase_rate", "active_users")
TREND_WEEKS = 12


@dataclass(frozen=True)
class Tile:
    metric: str
    value: float | None
    previous: float | None
    change: float | None
    good: bool | None
    trend: object


def kpi_tiles(con: BaseBackend, zone: ZoneInfo) -> tuple[list[Tile], str | None]:
    """The last complete week against the week before, with twelve weeks of trend."""
    result = KpiRunner(KpiQuery(period="week", metrics=TILES), zone)(con)
    tiles, week = [], None
    for series in result.series:
        points = [p for p in series.points if not p.partial] or series.points
        if not points:
            continue
        last = points[-1]
        week = str(last.period)
        change = last.change_rate
        good = None if change is None else (change >= 0) != (series.metric in LOWER_IS_BETTER)
        trend = sparkline([p.value for p in points[-TREND_WEEKS:]])
        tiles.append(Tile(series.metric, last.value, last.previous, change, good, trend))
    return tiles, week


@dataclass(frozen=True)
class Warehouse:
    """The overview's warehouse figures, computed once per warehouse generation."""

    tiles: list[Tile]
    week: str | None
    stages: LifecycleResult
    bands: list[RiskBand]


def warehouse_figures(request: Request) -> Warehouse:
    settings = request.app.state.settings
    with request.app.state.warehouse.reader() as con:
        tiles, week = kpi_tiles(con, settings.zone)
        stages = LifecycleRunner(LifecycleQuery(), settings.zone)(con)
        bands = risk_band_counts(con)
    return Warehouse(tiles, week, stages, bands)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, who: Annotated[Who, Depends(reader)]) -> HTMLResponse:
    now = utc_now()
    with use_locale(who.locale):
        figures = answer(request, ("overview",), lambda: warehouse_figures(request))

        def operational(session):  # type: ignore[no-untyped-def]
            _, program = current_program(session)
            return (
                liability(session, program, now),
                campaigns.listing(session, status="active"),
                segments.flows(session, (now - timedelta(days=30)).date()),
            )

        owed, running, flows = database(request).read(operational)
        return render.page(
            request,
            who,
            "overview.html",
            tiles=figures.tiles,
            week=figures.week,
            money=MONEY_METRICS,
            rates=RATE_METRICS,
            stages=figures.stages,
            bands=figures.bands,
            liability=owed,
            running=running,
            flows=flows[:12],
        )
