"""Recommendations: the served model, the strongest bundles (关联销售), the cold-start lists,
and what is bought with any SKU. A view of `tenure.recommend.service`; nothing is trained here
(`tenure recommend train` or the daily job does that)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from tenure.i18n import use_locale
from tenure.kit.bounds import Line
from tenure.operators.service import Who
from tenure.recommend import service
from tenure.recommend.errors import NotTrained, UnknownItem
from tenure.web import render
from tenure.web.deps import reader

router = APIRouter(include_in_schema=False)


@router.get("/recommendations", response_class=HTMLResponse)
def recommendations(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    sku: Annotated[Line, Query(max_length=200)] = "",
) -> HTMLResponse:
    settings = request.app.state.settings
    with use_locale(who.locale):
        try:
            shown: dict[str, Any] | None = service.overview(settings)
        except NotTrained:
            shown = None
        together, unknown = None, None
        if shown is not None and sku.strip():
            try:
                together = service.together(settings, sku.strip(), 10)
            except UnknownItem as exc:
                unknown = exc.message
        return render.page(
            request,
            who,
            "recommendations.html",
            model=shown,
            seconds=sum((shown or {}).get("meta", {}).get("seconds", {}).values()),
            sku=sku,
            together=together,
            unknown=unknown,
        )
