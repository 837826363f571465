"""Every error rendered as application/problem+json with a stable code."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenure.errors import TenureError
from tenure.i18n import translate

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": f"https://tenure.dev/problems/{code}",
        "title": translate(f"title.{code}")
        if translate(f"title.{code}") != f"title.{code}"
        else code,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": 'Basic realm="tenure"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""

    @app.exception_handler(TenureError)
    async def _tenure(_request: Request, exc: TenureError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.message, **exc.data)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return problem(422, "validation_error", translate("error.validation_error"), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "internal_error", translate("error.internal_error"))
