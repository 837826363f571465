"""One's own account: language, e-mail and the weekly review, and a new password. Every
operator, analysts too, manages their own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenure.errors import TenureError
from tenure.i18n import translate, use_locale
from tenure.operators import service
from tenure.operators.service import Who
from tenure.web import render
from tenure.web.deps import database, reader

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    who: Who,
    *,
    status_code: int = 200,
    error: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    account = database(request).read(lambda s: service.account(s, who.id))
    return render.page(
        request,
        who,
        "account.html",
        status_code=status_code,
        account=account,
        error=error,
        done=done if done in ("saved",) else None,
    )


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, who: Annotated[Who, Depends(reader)], done: str | None = None
) -> HTMLResponse:
    with use_locale(who.locale):
        return _page(request, who, done=done)


@router.post("/account", response_model=None)
def save(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    locale: Annotated[str, Form(max_length=16)] = "en",
    email: Annotated[str, Form(max_length=254)] = "",
    weekly_review: Annotated[bool, Form()] = False,
) -> Response:
    try:
        database(request).write(
            lambda s: service.set_preferences(
                s, who.id, locale=locale, email=email.strip(), weekly_review=weekly_review
            )
        )
    except TenureError as exc:
        with use_locale(who.locale):
            return _page(request, who, status_code=exc.status, error=exc.message)
    return RedirectResponse("/account?done=saved", status_code=303)


@router.post("/account/password", response_model=None)
def change_password(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    current: Annotated[str, Form(max_length=1024)] = "",
    new: Annotated[str, Form(max_length=1024)] = "",
    repeat: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """A new password ends every session of the account, this one too: sign in again."""
    with use_locale(who.locale):
        if new != repeat:
            return _page(request, who, status_code=400, error=translate("web.account.mismatch"))
        try:
            changed = database(request).write(
                lambda s: service.change_own_password(s, who.id, current, new)
            )
        except TenureError as exc:
            return _page(request, who, status_code=exc.status, error=exc.message)
        if not changed:
            return _page(
                request, who, status_code=400, error=translate("web.account.wrong_current")
            )
    return RedirectResponse("/login?next=/account", status_code=303)
