"""HTTP: GET /v1/users/{user_id} (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal
from tenure.kit.bounds import UserId
from tenure.profiles.schemas import Profile
from tenure.profiles.service import build_profile
from tenure.storage.database import Database

router = APIRouter(prefix="/v1/users", tags=["profiles"])


@router.get("/{user_id}", response_model=Profile, summary="A user's profile")
def profile(
    user_id: UserId,
    request: Request,
    timeline: int = Query(50, ge=0, le=1000, description="Timeline items to return."),
    _who: Principal = Depends(require("admin")),
) -> Profile:
    """Attributes, computed features, scores, RFM, lifecycle, segments, tags and timeline."""
    settings = request.app.state.settings
    database: Database = request.app.state.database
    with request.app.state.warehouse.reader() as con:
        return database.read(
            lambda s: build_profile(con, s, user_id, settings.zone, settings.currency, timeline)
        )
