"""HTTP: POST /v1/analytics/retention (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from tenure.analytics.retention.query import RetentionQuery, RetentionResult
from tenure.analytics.retention.runner import RetentionRunner
from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.post("/retention", response_model=RetentionResult, summary="Cohort retention")
def retention(
    query: RetentionQuery, request: Request, _who: Principal = Depends(require("admin"))
) -> RetentionResult:
    """Cohort matrix, value retention and day-N table in the shop's time zone."""
    settings = request.app.state.settings
    with request.app.state.warehouse.reader() as con:
        return RetentionRunner(query, settings.zone)(con)
