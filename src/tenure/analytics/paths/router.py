"""HTTP: POST /v1/analytics/paths (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from tenure.analytics.paths.query import PathsQuery, PathsResult
from tenure.analytics.paths.runner import paths_runner
from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.post("/paths", response_model=PathsResult)
def paths(
    query: PathsQuery, request: Request, _: Principal = Depends(require("admin"))
) -> PathsResult:
    """Top paths after (or before) a start event and the Sankey transition table."""
    runner = paths_runner(query, request.app.state.settings.zone)
    runner.validate()
    with request.app.state.warehouse.reader() as con:
        return runner(con)
