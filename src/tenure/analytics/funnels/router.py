"""HTTP: POST /v1/analytics/funnel and /v1/analytics/funnel/dropped (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from tenure.analytics.funnels.modes import funnel_runner
from tenure.analytics.funnels.query import DroppedRequest, DroppedResult, FunnelQuery, FunnelResult
from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.post("/funnel", response_model=FunnelResult)
def funnel(
    query: FunnelQuery, request: Request, _: Principal = Depends(require("admin"))
) -> FunnelResult:
    """Conversion, drop-off and time to convert through the steps."""
    runner = funnel_runner(query, request.app.state.settings.zone)
    runner.validate()
    with request.app.state.warehouse.reader() as con:
        return runner(con)


@router.post("/funnel/dropped", response_model=DroppedResult)
def dropped(
    body: DroppedRequest, request: Request, _: Principal = Depends(require("admin"))
) -> DroppedResult:
    """The people who reached a step but not the next (an exportable segment)."""
    runner = funnel_runner(body.query, request.app.state.settings.zone)
    runner.validate()
    with request.app.state.warehouse.reader() as con:
        return runner.dropped(con, body.step)
