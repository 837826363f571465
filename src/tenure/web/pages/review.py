"""Weekly review (复盘): one week's KPIs against the week before and a year before, the newest
cohorts, lifecycle stages and moves, campaigns and offers, anomalies and segment movers. The
body is the same document the e-mail and the PDF carry (`tenure.reports.weekly`); it is loaded
by htmx, because it runs every section's query."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenure.errors import TenureError
from tenure.i18n import use_locale
from tenure.kit.time import utc_now
from tenure.operators.service import Who
from tenure.reports.weekly.data import WeeklyReview, build_review, default_week
from tenure.reports.weekly.pdf import html_to_pdf
from tenure.reports.weekly.render import render_body, render_html
from tenure.reports.weekly.weeks import Week
from tenure.web import render
from tenure.web.cache import answer
from tenure.web.deps import reader

router = APIRouter(include_in_schema=False)

WeekText = Annotated[str | None, Query()]


def pick_week(request: Request, text: str | None) -> Week:
    """The week containing `text` (YYYY-MM-DD, from the earliest plausible day to today), or
    the last complete week; a TenureError (400) for anything else."""
    settings = request.app.state.settings
    now = utc_now()
    if not text:
        return answer(
            request,
            ("review_default_week", now.astimezone(settings.zone).date()),
            lambda: default_week(request.app.state.warehouse, settings, now),
        )
    earliest = settings.earliest_event_time.astimezone(settings.zone).date()
    latest = now.astimezone(settings.zone).date()
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        day = None
    if day is None or not earliest <= day <= latest:
        raise TenureError(
            "review_week_invalid",
            400,
            value=text[:40],
            earliest=earliest.isoformat(),
            latest=latest.isoformat(),
        )
    return Week.of(day)


def _neighbours(request: Request, week: Week) -> tuple[str | None, str | None]:
    """The week before (unless before the plausible days) and after (unless not begun)."""
    settings = request.app.state.settings
    today = utc_now().astimezone(settings.zone).date()
    earliest = settings.earliest_event_time.astimezone(settings.zone).date()
    before = week.previous.start.isoformat() if week.previous.end >= earliest else None
    after = week.next.start.isoformat() if week.next.start <= today else None
    return before, after


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request, who: Annotated[Who, Depends(reader)], week: WeekText = None
) -> HTMLResponse:
    with use_locale(who.locale):
        try:
            picked = pick_week(request, week)
        except TenureError as exc:
            return render.page(
                request, who, "review.html", status_code=exc.status, error=exc.message, shown=None
            )
        before, after = _neighbours(request, picked)
        return render.page(
            request,
            who,
            "review.html",
            error=None,
            shown=picked,
            week=picked.start.isoformat(),
            previous=before,
            next=after,
        )


def _review(request: Request, picked: Week) -> WeeklyReview:
    """The week's review through the console's cache (the page's body and its PDF share it).
    Keyed on the warehouse: the operational parts (campaigns, offers, segment sizes) are of a past
    week, and sends and redemptions reach the warehouse as events."""
    state = request.app.state
    return answer(
        request,
        ("review", picked.start),
        lambda: build_review(state.settings, state.database, state.warehouse, picked, utc_now()),
    )


@router.get("/review/body", response_class=HTMLResponse)
def review_body(
    request: Request, who: Annotated[Who, Depends(reader)], week: WeekText = None
) -> HTMLResponse:
    """The review itself, for the page's htmx placeholder."""
    with use_locale(who.locale):
        try:
            picked = pick_week(request, week)
        except TenureError as exc:
            return render.page(
                request, who, "_review_body.html", status_code=exc.status, error=exc.message
            )
        found = _review(request, picked)
        return render.page(
            request, who, "_review_body.html", error=None, body=render_body(found, who.locale)
        )


@router.get("/review.pdf", response_model=None)
def review_pdf(
    request: Request, who: Annotated[Who, Depends(reader)], week: WeekText = None
) -> Response:
    """The same review as a PDF download (printed by headless Chromium)."""
    with use_locale(who.locale):
        try:
            picked = pick_week(request, week)
            found = _review(request, picked)
            pdf = html_to_pdf(render_html(found, who.locale), request.app.state.settings)
        except TenureError as exc:
            return render.page(
                request, who, "review.html", status_code=exc.status, error=exc.message, shown=None
            )
    name = f"weekly-review-{picked.start.isoformat()}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**render.HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )
