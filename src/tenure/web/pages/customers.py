"""Customers: search by id, e-mail or name, the RFM grid, and one customer's 360 page (profile,
features, scores, recommended items, timeline, points and tier, coupons, referrals, messages and
segments)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from tenure.campaigns.models import Decision, Enrollment, InboxItem
from tenure.campaigns.service import campaigns, contacts
from tenure.config import Settings
from tenure.i18n import use_locale
from tenure.kit.bounds import INT32_MAX, USER_ID_LENGTH
from tenure.kit.time import utc_now
from tenure.loyalty import service as loyalty
from tenure.operators.service import Who
from tenure.profiles.errors import UserNotFound
from tenure.profiles.service import build_profile, search_users, user_exists
from tenure.promotions.coupons.service import WalletEntry, wallet_of
from tenure.recommend import service as recommend
from tenure.recommend.errors import NotTrained
from tenure.referrals import service as referrals
from tenure.segments import service as segments
from tenure.segments import tags
from tenure.segments.rfm import RfmQuery, RfmRunner
from tenure.web import render
from tenure.web.cache import run
from tenure.web.deps import database, reader

router = APIRouter(include_in_schema=False)

PAGE = 50
TIMELINE = 50
MESSAGES = 30
INBOX = 20
RECOMMENDED = 8
# What the operational database can hold as a user id: one line, at most 200 characters.
_USER_ID = re.compile(rf"^[^\x00-\x1f\x7f]{{1,{USER_ID_LENGTH}}}$")


@router.get("/customers", response_class=HTMLResponse)
def customers(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
    part: Literal["rfm"] | None = None,
) -> HTMLResponse:
    """The search (`q`, a page of 50 from `offset`); `part=rfm` is the lazily loaded RFM grid."""
    settings = request.app.state.settings
    with use_locale(who.locale):
        if part == "rfm":
            rfm = run(request, RfmRunner(RfmQuery(), settings.zone))
            cells = {(c.r, c.f): c.users for c in rfm.grid}
            return render.page(
                request,
                who,
                "_customers_rfm.html",
                rfm=rfm,
                cells=cells,
                busiest=max(cells.values(), default=0),
            )
        with request.app.state.warehouse.reader() as con:
            hits, more = search_users(con, settings.zone, q, PAGE, offset)
        return render.page(
            request,
            who,
            "customers.html",
            q=q,
            hits=hits,
            offset=offset,
            more=more,
            page_size=PAGE,
        )


@dataclass(frozen=True)
class Operational:
    """What the operational database knows about a customer."""

    points: int
    tier: str | None
    wallet: list[WalletEntry]
    referrals: referrals.Progress
    enrollments: list[Enrollment]
    decisions: list[Decision]
    inbox: list[InboxItem]
    contact: Any
    consents: list[Any]
    segments: list[str]
    tags: list[str]
    stage: tuple[str, date] | None


def _operational(session: Session, user_id: str) -> Operational:
    now = utc_now()
    enrollments, decisions = campaigns.history(session, user_id)
    contact, consents = contacts.contact_of(session, user_id)
    return Operational(
        points=loyalty.points_balance(session, user_id),
        tier=loyalty.current_tier(session, user_id),
        wallet=wallet_of(session, user_id, now),
        referrals=referrals.progress(session, user_id),
        enrollments=enrollments[:MESSAGES],
        decisions=decisions[:MESSAGES],
        inbox=contacts.inbox(session, user_id, now, INBOX),
        contact=contact,
        consents=consents,
        segments=segments.segments_of(session, user_id),
        tags=tags.tags_of(session, user_id),
        stage=segments.stage_of(session, user_id),
    )


def _recommended(settings: Settings, user_id: str) -> dict[str, Any] | None:
    """The customer's list from the newest recommendation model (reasons in the operator's
    language), or None when no model is trained."""
    try:
        return recommend.for_user(settings, user_id, RECOMMENDED)
    except NotTrained:
        return None


def _missing(request: Request, who: Who, user_id: str, template: str) -> HTMLResponse:
    return render.page(request, who, template, status_code=404, user_id=user_id, profile=None)


@router.get("/customers/{user_id:path}", response_class=HTMLResponse)
def customer(
    request: Request,
    user_id: str,
    who: Annotated[Who, Depends(reader)],
    part: Literal["profile"] | None = None,
) -> HTMLResponse:
    """One customer's 360 page; an unknown (or impossible) user id is a 404 page. What the
    warehouse knows (profile, features, scores, timeline) loads as the `part=profile` fragment."""
    settings = request.app.state.settings
    with use_locale(who.locale):
        template = "_customers_profile.html" if part == "profile" else "customer.html"
        if not _USER_ID.match(user_id):
            return _missing(request, who, user_id, template)
        if part == "profile":
            try:
                with request.app.state.warehouse.reader() as con:
                    profile = database(request).read(
                        lambda s: build_profile(
                            con, s, user_id, settings.zone, settings.currency, TIMELINE
                        )
                    )
            except UserNotFound:
                return _missing(request, who, user_id, template)
            scores = dict(profile.scores)
            churn, clv = scores.pop("churn", None), scores.pop("clv", None)
            scores.pop("rfm", None)
            scores.pop("lifecycle", None)
            return render.page(
                request,
                who,
                template,
                user_id=user_id,
                profile=profile,
                churn=churn.values if churn else None,
                clv=clv.values if clv else None,
                other_scores=scores,
                recommended=_recommended(settings, user_id),
            )
        with request.app.state.warehouse.reader() as con:
            known = user_exists(con, user_id)
        if not known:
            return _missing(request, who, user_id, template)
        ops = database(request).read(lambda s: _operational(s, user_id))
        return render.page(request, who, template, user_id=user_id, profile=True, ops=ops)
