"""Campaigns: the list with its builder (from a playbook or a document), the shop calendar with
the planned campaign days, and one campaign's document, lifecycle actions and results against
its holdout (loaded by htmx: reading every entry's outcome takes a moment)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from babel import dates
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenure.campaigns import playbook
from tenure.campaigns.channels.config import senders_from
from tenure.campaigns.results import results
from tenure.campaigns.service import calendar, campaigns
from tenure.errors import TenureError
from tenure.i18n import normalise, translate, use_locale
from tenure.kit.bounds import INT32_MAX
from tenure.kit.time import utc_now
from tenure.operators.service import Who
from tenure.promotions.service.offers import list_offers
from tenure.web import render
from tenure.web.deps import admin, database, reader

router = APIRouter(include_in_schema=False)

PAGE = 50
OFFERS = 200  # offers suggested in the playbook form
STATUSES = ("draft", "active", "paused", "finished")
BADGE = {"active": "running", "paused": "held"}  # status → tenure.css badge class
Action = Literal["start", "pause", "resume", "finish"]
CampaignKeyPath = Annotated[str, Path(min_length=1, max_length=200)]
StatusQuery = Annotated[str | None, Query(pattern="^(draft|active|paused|finished)?$")]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX)]
Year = Annotated[int | None, Query(ge=2000, le=2100)]
Document = Annotated[str, Form(max_length=200_000)]
# What the results return as English reasons (campaigns/results.py), as catalogue keys.
REASONS = {
    "fewer than 2 users in an arm": "web.campaigns.reason.too_few",
    "zero variance": "web.campaigns.reason.zero_variance",
    "baseline zero": "web.campaigns.reason.baseline_zero",
    "no units": "web.campaigns.reason.too_few",
    "no holdout to measure the incremental revenue against": "web.campaigns.reason.no_holdout",
    "costs and revenue are in different currencies": "web.campaigns.reason.currencies",
    "nothing was given away": "web.campaigns.reason.no_cost",
}


@dataclass(frozen=True)
class Play:
    """A shipped playbook as the builder offers it, in the operator's language."""

    name: str
    key: str
    title: str
    description: str
    trigger: str
    needs: tuple[tuple[str, str], ...]  # (field, label)


@dataclass(frozen=True)
class Month:
    """One month of the calendar page: its holidays and the campaigns planned in it."""

    label: str
    holidays: list[calendar.Day]
    planned: list[campaigns.ScheduledDay]


def _text(key: str, fallback: str, **values: Any) -> str:
    """The catalogue's text for `key`, or `fallback` when the catalogue has none."""
    found = translate(key, **values)
    return fallback if found == key else found


def _plays() -> list[Play]:
    out = []
    for play in playbook.playbooks().values():
        trigger = play.document.get("trigger") or {}
        kind = str(trigger.get("type", "once")) if isinstance(trigger, dict) else "once"
        needs = tuple((need, _text(f"web.campaigns.need.{need}", need)) for need in play.needs)
        out.append(
            Play(
                name=play.name,
                key=play.key,
                title=_text(f"web.campaigns.play.{play.name}", play.title),
                description=_text(f"web.campaigns.play_about.{play.name}", play.description),
                trigger=kind,
                needs=needs,
            )
        )
    return out


def _listing(
    request: Request,
    who: Who,
    status: str | None,
    offset: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    failed: str | None = None,
    document: str = "",
    chosen: str | None = None,
) -> HTMLResponse:
    """The list page; after a refused builder form, with its message and what was typed."""

    def work(session):  # type: ignore[no-untyped-def]
        listed, total = campaigns.listing_page(session, status, offset, PAGE)
        offers = [o.id for o in list_offers(session, "active")[:OFFERS]] if who.is_admin else []
        return listed, total, offers

    listed, total, offers = database(request).read(work)
    return render.page(
        request,
        who,
        "campaigns.html",
        status_code=status_code,
        campaigns=listed,
        total=total,
        offset=offset,
        page_size=PAGE,
        status=status or "",
        statuses=STATUSES,
        badge=BADGE,
        plays=_plays(),
        offers=offers,
        error=error,
        failed=failed,
        document=document,
        chosen=chosen,
    )


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    status: StatusQuery = None,
    offset: Offset = 0,
) -> HTMLResponse:
    with use_locale(who.locale):
        return _listing(request, who, status or None, offset)


def _detail_url(key: str) -> str:
    return "/campaigns/" + quote(key, safe="")


@router.post("/campaigns", response_class=HTMLResponse)
def create_from_document(
    request: Request, who: Annotated[Who, Depends(admin)], document: Document = ""
) -> Response:
    """Save a JSON or YAML document as a draft campaign."""
    with use_locale(who.locale):
        now = utc_now()
        try:
            row, _ = database(request).write(lambda s: campaigns.create(s, document, now))
        except TenureError as exc:
            return _listing(
                request, who, None, 0, status_code=exc.status, error=exc.message,
                failed="document", document=document,
            )  # fmt: skip
        return RedirectResponse(_detail_url(row.key), status_code=303)


async def _form_fields(request: Request) -> dict[str, str]:
    """The form's text fields: a playbook's values are named by the playbook itself."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


@router.post("/campaigns/playbook", response_class=HTMLResponse)
def create_from_playbook(
    request: Request,
    who: Annotated[Who, Depends(admin)],
    fields: Annotated[dict[str, str], Depends(_form_fields)],
    name: Annotated[str, Form(alias="playbook", min_length=1, max_length=64)],
    key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Save a playbook, its placeholders filled from the form, as a draft campaign."""
    with use_locale(who.locale):
        now = utc_now()
        found = playbook.playbooks().get(name)
        values = {need: fields.get(need, "").strip() for need in (found.needs if found else ())}
        try:
            filled = playbook.document(name, values, key.strip() or None)
            row, _ = database(request).write(lambda s: campaigns.create(s, filled, now))
        except TenureError as exc:
            return _listing(
                request, who, None, 0, status_code=exc.status, error=exc.message,
                failed="playbook", chosen=name,
            )  # fmt: skip
        return RedirectResponse(_detail_url(row.key), status_code=303)


def _months(holidays: list[calendar.Day], planned: list[campaigns.ScheduledDay], year: int,
            locale: str) -> list[Month]:  # fmt: skip
    babel_locale = normalise(locale)
    return [
        Month(
            label=dates.format_skeleton("yMMMM", date(year, month, 1), locale=babel_locale),
            holidays=[h for h in holidays if h.day.month == month],
            planned=[p for p in planned if p.day.month == month],
        )
        for month in range(1, 13)
    ]


@router.get("/campaigns/calendar", response_class=HTMLResponse)
def campaign_calendar(
    request: Request, who: Annotated[Who, Depends(reader)], year: Year = None
) -> HTMLResponse:
    """The shop calendar's days of a year and the days campaigns are planned to run."""
    zone = request.app.state.settings.zone
    with use_locale(who.locale):
        shown = year or utc_now().astimezone(zone).year
        first, last = date(shown, 1, 1), date(shown, 12, 31)
        holidays, planned = database(request).read(
            lambda s: (
                calendar.between(s, first, last),
                campaigns.scheduled(s, first, last, zone),
            )
        )
        return render.page(
            request,
            who,
            "calendar.html",
            year=shown,
            months=_months(holidays, planned, shown, who.locale),
            holidays=holidays,
            planned=planned,
            badge=BADGE,
        )


def _missing(
    request: Request, who: Who, error: TenureError, fragment: bool = False
) -> HTMLResponse:
    if fragment:
        return render.page(
            request, who, "_campaigns_gone.html", status_code=error.status, error=error.message
        )
    return render.missing(
        request,
        who,
        error,
        title="web.campaigns.missing_title",
        back="/campaigns",
        back_label="web.campaigns.back",
    )


def _detail(
    request: Request, who: Who, key: str, *, status_code: int = 200, error: str | None = None
) -> HTMLResponse:
    try:
        row, campaign = database(request).read(lambda s: campaigns.get(s, key))
    except TenureError as exc:
        return _missing(request, who, exc)
    document = campaign.model_dump(mode="json", by_alias=True, exclude_none=True)
    actions = [a for a, (allowed, _) in campaigns.TRANSITIONS.items() if row.status in allowed]
    return render.page(
        request,
        who,
        "campaign.html",
        status_code=status_code,
        row=row,
        campaign=campaign,
        channels=sorted(campaign.channels()),
        document=json.dumps(document, indent=2, ensure_ascii=False),
        actions=actions,
        badge=BADGE,
        error=error,
    )


@router.get("/campaigns/{key}", response_class=HTMLResponse)
def campaign_detail(
    request: Request, who: Annotated[Who, Depends(reader)], key: CampaignKeyPath
) -> HTMLResponse:
    with use_locale(who.locale):
        return _detail(request, who, key)


@router.get("/campaigns/{key}/results", response_class=HTMLResponse)
def campaign_results(
    request: Request, who: Annotated[Who, Depends(reader)], key: CampaignKeyPath
) -> HTMLResponse:
    """The results fragment: treatment against the holdout and the global control group."""
    with use_locale(who.locale):
        try:
            found = results(database(request), request.app.state.warehouse, key, utc_now())
        except TenureError as exc:
            return _missing(request, who, exc, fragment=True)
        entered = sum(arm.users for arm in found.arms)
        return render.page(
            request,
            who,
            "_campaigns_results.html",
            results=found,
            entered=entered,
            holdout=[lift for lift in found.lifts if lift.against == "holdout"],
            control=[lift for lift in found.lifts if lift.against == "control"],
            reasons=REASONS,
        )


@router.post("/campaigns/{key}/{action}", response_class=HTMLResponse)
def campaign_action(
    request: Request,
    who: Annotated[Who, Depends(admin)],
    key: CampaignKeyPath,
    action: Action,
) -> Response:
    """Start, pause, resume or finish; starting or resuming needs a provider for every channel
    the campaign sends on (as the API checks)."""
    with use_locale(who.locale):
        channels: set[str] | None = None
        now = utc_now()
        try:
            if action in ("start", "resume"):
                senders = senders_from(request.app.state.settings)
                channels = set(senders)
                for sender in senders.values():
                    sender.close()
            database(request).write(lambda s: campaigns.transition(s, key, action, now, channels))
        except TenureError as exc:
            if exc.status == 404:
                return _missing(request, who, exc)
            return _detail(request, who, key, status_code=exc.status, error=exc.message)
        return RedirectResponse(_detail_url(key), status_code=303)
