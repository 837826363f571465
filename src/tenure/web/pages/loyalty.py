"""Loyalty: the live program and its tiers with their members, points liability, the program's
history, and the program editor (admins save a new version; analysts read it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tenure.errors import TenureError
from tenure.i18n import translate, use_locale
from tenure.kit.bounds import INT32_MAX
from tenure.kit.documents import json_or_yaml
from tenure.kit.time import utc_now
from tenure.loyalty.liability import Liability, liability
from tenure.loyalty.models import ProgramVersion
from tenure.loyalty.program import Program, current_program, program_history, save_program
from tenure.loyalty.tiers.service import TierCount, tier_distribution
from tenure.operators.service import Who
from tenure.web import render
from tenure.web.deps import admin, database, reader

router = APIRouter(include_in_schema=False)

DOCUMENT_MAX = 200_000
HISTORY_ROWS = 10


@dataclass(frozen=True)
class LoyaltyView:
    """What the page reads in one unit of work."""

    version: int
    program: Program
    tiers: list[TierCount]
    liability: Liability
    history: list[ProgramVersion]


def _view(session: Session) -> LoyaltyView:
    version, program = current_program(session)
    return LoyaltyView(
        version=version,
        program=program,
        tiers=tier_distribution(session, program),
        liability=liability(session, program, utc_now()),
        history=program_history(session, HISTORY_ROWS),
    )


def _page(
    request: Request,
    who: Who,
    *,
    status_code: int = 200,
    document: str | None = None,
    note: str = "",
    error: str | None = None,
    done: str | None = None,
    saved_version: int | None = None,
) -> HTMLResponse:
    view = database(request).read(_view)
    text = document
    if text is None:
        text = json.dumps(view.program.model_dump(mode="json"), indent=2, ensure_ascii=False)
    return render.page(
        request,
        who,
        "loyalty.html",
        status_code=status_code,
        view=view,
        program=view.program,
        document=text,
        note=note,
        error=error,
        done=done,
        saved_version=saved_version,
    )


@router.get("/loyalty", response_class=HTMLResponse)
def loyalty(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    done: Annotated[Literal["saved", "unchanged"] | None, Query()] = None,
    version: Annotated[int | None, Query(ge=0, le=INT32_MAX)] = None,
) -> HTMLResponse:
    with use_locale(who.locale):
        return _page(request, who, done=done, saved_version=version)


@router.post("/loyalty/program", response_model=None)
def save(
    request: Request,
    who: Annotated[Who, Depends(admin)],
    document: Annotated[str, Form(max_length=DOCUMENT_MAX)],
    expected_version: Annotated[int, Form(ge=0, le=INT32_MAX)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Validate and save a new program version through the same service as the admin API;
    a document that does not parse or validate comes back with the reason and its path."""
    with use_locale(who.locale):
        try:
            data = json_or_yaml(document)
        except (ValueError, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
            error = translate("web.loyalty.unreadable", reason=reason)
            return _page(request, who, status_code=400, document=document, note=note, error=error)
        try:
            version, _ = database(request).write(
                lambda s: save_program(s, data, utc_now(), note, expected_version)
            )
        except TenureError as exc:
            return _page(
                request,
                who,
                status_code=exc.status,
                document=document,
                note=note,
                error=exc.message,
            )
        done = "unchanged" if version == expected_version else "saved"
        return RedirectResponse(f"/loyalty?done={done}&version={version}", status_code=303)
