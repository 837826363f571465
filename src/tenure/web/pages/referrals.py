"""Referrals: the review queue (referrals the abuse rules held) with approve / reject for admins,
the latest abuse and review decisions, and the program's rules and numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tenure.errors import TenureError
from tenure.i18n import use_locale
from tenure.kit.bounds import INT32_MAX, NOTE_LENGTH, PUBLIC_ID_LENGTH, PublicId
from tenure.kit.time import utc_now
from tenure.operators.service import Who
from tenure.referrals import config, rewards, service
from tenure.referrals.config import Program
from tenure.referrals.models import Decision, Referral
from tenure.referrals.service import ProgramStats
from tenure.web import render
from tenure.web.deps import admin, database, reader

router = APIRouter(include_in_schema=False)

QUEUE_ROWS = 50
DECISION_ROWS = 25


@dataclass(frozen=True)
class ReferralsView:
    """What the page reads in one unit of work."""

    version: int
    program: Program
    queue: list[Referral]
    decisions: list[Decision]
    stats: ProgramStats


def _page(
    request: Request,
    who: Who,
    *,
    offset: int = 0,
    status_code: int = 200,
    done: str | None = None,
    referral: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    def work(session: Session) -> ReferralsView:
        version, program = config.current_program(session)
        return ReferralsView(
            version=version,
            program=program,
            queue=service.list_referrals(session, "held", None, QUEUE_ROWS + 1, offset),
            decisions=service.decisions(session, None, DECISION_ROWS),
            stats=service.program_stats(session),
        )

    view = database(request).read(work)
    return render.page(
        request,
        who,
        "referrals.html",
        status_code=status_code,
        view=view,
        queue=view.queue[:QUEUE_ROWS],
        more=len(view.queue) > QUEUE_ROWS,
        offset=offset,
        page_rows=QUEUE_ROWS,
        done=done,
        referral=referral,
        error=error,
    )


@router.get("/referrals", response_class=HTMLResponse)
def referrals(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    done: Annotated[Literal["approved", "rejected"] | None, Query()] = None,
    referral: Annotated[str | None, Query(max_length=PUBLIC_ID_LENGTH)] = None,
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> HTMLResponse:
    with use_locale(who.locale):
        return _page(request, who, offset=offset, done=done, referral=referral)


def _review(
    request: Request,
    who: Who,
    referral_id: str,
    decision: Literal["approved", "rejected"],
    note: str,
) -> Response:
    """Approve or reject through the referral services; a refusal (unknown or no longer held)
    is shown on the page with its status, never a 500."""
    zone = request.app.state.settings.zone
    now = utc_now()

    def work(session: Session) -> Referral:
        _, program = config.current_program(session)
        if decision == "approved":
            return rewards.approve(
                session, program, referral_id, who.username, note or None, zone, now
            )
        return rewards.reject(session, referral_id, who.username, note or None, now)

    with use_locale(who.locale):
        try:
            database(request).write(work)
        except TenureError as exc:
            return _page(request, who, status_code=exc.status, error=exc.message)
        return RedirectResponse(
            f"/referrals?done={decision}&referral={quote(referral_id, safe='')}", status_code=303
        )


@router.post("/referrals/{referral_id}/approve", response_model=None)
def approve(
    request: Request,
    who: Annotated[Who, Depends(admin)],
    referral_id: PublicId,
    note: Annotated[str, Form(max_length=NOTE_LENGTH)] = "",
) -> Response:
    """Reward both sides of a held referral now."""
    return _review(request, who, referral_id, "approved", note)


@router.post("/referrals/{referral_id}/reject", response_model=None)
def reject(
    request: Request,
    who: Annotated[Who, Depends(admin)],
    referral_id: PublicId,
    note: Annotated[str, Form(max_length=NOTE_LENGTH)] = "",
) -> Response:
    """Close a held referral without rewards."""
    return _review(request, who, referral_id, "rejected", note)
