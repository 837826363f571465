"""HTTP: GET /v1/ingestion/warnings (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal
from tenure.config import Settings
from tenure.ingest.warnings import service
from tenure.ingest.warnings.schemas import IngestionWarningOut, IngestionWarningsOut
from tenure.kit.time import utc_now
from tenure.storage.database import Database

router = APIRouter(prefix="/v1/ingestion", tags=["ingestion"])


@router.get("/warnings", response_model=IngestionWarningsOut, summary="Implausible times seen")
def warnings(
    request: Request,
    days: int = Query(30, ge=1, le=service.KEEP_DAYS, description="How many UTC days back."),
    _who: Principal = Depends(require("admin")),
) -> IngestionWarningsOut:
    """Times that tracking clamped or refused, and import rows rejected for their time."""
    settings: Settings = request.app.state.settings
    database: Database = request.app.state.database
    today = utc_now().date()
    rows = database.read(lambda s: service.recent(s, today, days))
    return IngestionWarningsOut(
        earliest_event_time=settings.earliest_event_time,
        future_tolerance_seconds=settings.future_tolerance.total_seconds(),
        days=days,
        warnings=[IngestionWarningOut.of(row) for row in rows],
    )
