"""Offers & coupons: every offer with its status, redemptions, the discounts it gave, and its
budget, a page at a time, filtered by status and kind."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from tenure.i18n import use_locale
from tenure.kit.bounds import INT32_MAX
from tenure.operators.service import Who
from tenure.promotions.service.offers import performance
from tenure.web import render
from tenure.web.deps import database, reader

router = APIRouter(include_in_schema=False)

PAGE_ROWS = 50
STATUSES = ("active", "paused", "archived")
KINDS = ("coupon", "automatic")


@router.get("/offers", response_class=HTMLResponse)
def offers(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    status: Annotated[Literal["", "active", "paused", "archived"], Query()] = "",
    kind: Annotated[Literal["", "coupon", "automatic"], Query()] = "",
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> HTMLResponse:
    with use_locale(who.locale):
        # One row more than a page says whether there is a next one.
        rows = database(request).read(
            lambda s: performance(s, status or None, kind or None, PAGE_ROWS + 1, offset)
        )
        return render.page(
            request,
            who,
            "offers.html",
            rows=rows[:PAGE_ROWS],
            more=len(rows) > PAGE_ROWS,
            status=status,
            kind=kind,
            offset=offset,
            page_rows=PAGE_ROWS,
            statuses=STATUSES,
            kinds=KINDS,
        )
