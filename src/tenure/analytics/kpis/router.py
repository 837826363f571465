"""HTTP: POST /v1/analytics/kpis and /v1/analytics/acquisition (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from tenure.analytics.kpis.acquisition import AcquisitionRunner
from tenure.analytics.kpis.query import (
    AcquisitionQuery,
    AcquisitionResult,
    KpiQuery,
    KpiResult,
)
from tenure.analytics.kpis.runner import KpiRunner
from tenure.api.auth import require
from tenure.storage.warehouse import Warehouse

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.post("/kpis", summary="KPI time series", dependencies=[Depends(require("admin"))])
def kpis(query: KpiQuery, request: Request) -> KpiResult:
    """KPIs per shop-local period with period-over-period change, totals and cohort LTV."""
    warehouse: Warehouse = request.app.state.warehouse
    with warehouse.reader() as con:
        return KpiRunner(query, request.app.state.settings.timezone)(con)


@router.post(
    "/acquisition", summary="CAC, LTV and payback", dependencies=[Depends(require("admin"))]
)
def acquisition(query: AcquisitionQuery, request: Request) -> AcquisitionResult:
    """CAC, LTV at horizons and payback period per acquisition channel."""
    warehouse: Warehouse = request.app.state.warehouse
    with warehouse.reader() as con:
        return AcquisitionRunner(query, request.app.state.settings.timezone)(con)
