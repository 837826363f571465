"""HTTP: POST /v1/analytics/kpis and /v1/analytics/acquisition (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from tenure.analytics.kpis.acquisition import AcquisitionRunner
from tenure.analytics.kpis.query import AcquisitionQuery, AcquisitionResult, KpiQuery, KpiResult
from tenure.analytics.kpis.runner import KpiRunner
from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.post("/kpis", response_model=KpiResult, summary="KPI time series")
def kpis(
    query: KpiQuery, request: Request, _who: Principal = Depends(require("admin"))
) -> KpiResult:
    """KPIs per shop-local period with period-over-period change, totals and cohort LTV."""
    settings = request.app.state.settings
    with request.app.state.warehouse.reader() as con:
        return KpiRunner(query, settings.zone)(con)


@router.post("/acquisition", response_model=AcquisitionResult, summary="CAC, LTV and payback")
def acquisition(
    query: AcquisitionQuery, request: Request, _who: Principal = Depends(require("admin"))
) -> AcquisitionResult:
    """CAC, LTV at horizons and payback period per acquisition channel, from the spend table."""
    settings = request.app.state.settings
    with request.app.state.warehouse.reader() as con:
        return AcquisitionRunner(query, settings.zone)(con)
