"""Overview: headline KPIs with their change and trend, lifecycle stages and flows, churn-risk
bands, points liability and the running campaigns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from tenure.analytics.kpis import KpiQuery, KpiRunner
from tenure.campaigns.service import campaigns
from tenure.i18n import use_locale
from tenure.kit.time import utc_now
from tenure.loyalty.liability import liability
from tenure.loyalty.program import current_program
from tenure.operators.service import Who
from tenure.predict.churn.report import risk_bands
from tenure.predict.scores import model_scores
from tenure.segments import service as segments
from tenure.segments.lifecycle import LifecycleQuery, LifecycleRunner
from tenure.web import render
from tenure.web.deps import database, reader
from tenure.web.sparkline import sparkline

router = APIRouter(include_in_schema=False)

TILES = ("revenue", "orders", "buyers", "new_users", "aov", "repurchase_rate", "active_users")
RATES = {"repurchase_rate", "refund_rate", "conversion"}
MONEY = {"revenue", "aov"}
LOWER_IS_BETTER = {"refund_rate"}
TREND_WEEKS = 12


@dataclass(frozen=True)
class Tile:
    metric: str
    value: float | None
    previous: float | None
    change: float | None
    good: bool | None
    trend: object


def kpi_tiles(request: Request) -> tuple[list[Tile], str | None]:
    """The last complete week against the week before, with twelve weeks of trend."""
    settings = request.app.state.settings
    with request.app.state.warehouse.reader() as con:
        result = KpiRunner(KpiQuery(period="week", metrics=TILES), settings.zone)(con)
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


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, who: Annotated[Who, Depends(reader)]) -> HTMLResponse:
    settings = request.app.state.settings
    now = utc_now()
    with use_locale(who.locale):
        tiles, week = kpi_tiles(request)
        with request.app.state.warehouse.reader() as con:
            stages = LifecycleRunner(LifecycleQuery(), settings.zone)(con)
            churn = model_scores(con, "churn")
            clv = model_scores(con, "clv")
        bands = (
            risk_bands(churn, clv.get("clv_minor") if not clv.empty else None)
            if not churn.empty
            else []
        )

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
            tiles=tiles,
            week=week,
            money=MONEY,
            rates=RATES,
            stages=stages,
            bands=bands,
            liability=owed,
            running=running,
            flows=flows[:12],
        )
