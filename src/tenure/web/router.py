"""The console's routes: sign-in, static files, every page; `install` adds its error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import plotly
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tenure.i18n import normalise
from tenure.kit.time import utc_now
from tenure.operators import service as auth
from tenure.operators.service import Who
from tenure.web import render
from tenure.web.cache import AnswerCache
from tenure.web.deps import (
    COOKIE,
    AdminRequired,
    CsrfRejected,
    LoginRequired,
    database,
    operator,
    reader,
)
from tenure.web.pages import PAGE_ROUTERS
from tenure.web.timing import ServerTiming

STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or `https://…`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return render.page(request, None, "login.html", next=_safe_next(next), failed=False)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2048)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    signed = database(request).write(lambda s: auth.sign_in(s, username, password, utc_now()))
    if signed is None:
        return render.page(
            request, None, "login.html", status_code=401, next=_safe_next(next), failed=True
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        signed.token,
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, _who: Annotated[Who, Depends(reader)]) -> Response:
    token = request.cookies.get(COOKIE, "")
    database(request).write(lambda s: auth.sign_out(s, token))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/preferences/locale")
def set_locale(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    locale: Annotated[str, Form(max_length=16)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Every operator, analysts too, picks their own language."""
    database(request).write(lambda s: auth.set_preferences(s, who.id, locale=normalise(locale)))
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js from the installed plotly package: the console works offline."""
    return FileResponse(PLOTLY_JS, headers={"Cache-Control": "public, max-age=86400"})


def install(app: FastAPI) -> None:
    """Mount the console on the app: its routes, static files and error pages."""
    app.state.console_cache = AnswerCache(app.state.settings.console_stale_seconds)
    app.include_router(router)
    for page_router in PAGE_ROUTERS:
        app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.add_middleware(ServerTiming)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        target = f"/login?next={quote(request.url.path)}"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        if request.method not in ("GET", "HEAD"):
            return Response(status_code=401)
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(AdminRequired)
    async def _admin(request: Request, _exc: AdminRequired) -> Response:
        return render.page(
            request, _who_of(request), "error.html", status_code=403, reason="web.error.admin"
        )

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _exc: CsrfRejected) -> Response:
        return render.page(
            request, _who_of(request), "error.html", status_code=403, reason="web.error.csrf"
        )


def _who_of(request: Request) -> Who | None:
    found = getattr(request.state, "who", None)
    return found if isinstance(found, Who) else None


__all__ = ["install", "operator"]
