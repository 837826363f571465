"""What every console route needs: the operator behind the request, their role, the CSRF check."""

from __future__ import annotations

import hmac

from fastapi import Request

from tenure.kit.time import utc_now
from tenure.operators.service import Who, who
from tenure.storage.database import Database

COOKIE = "tenure_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No live session: pages redirect to the sign-in page, htmx partials answer 401."""


class AdminRequired(Exception):
    """An analyst asked to change something: 403."""


class CsrfRejected(Exception):
    """A change without the session's CSRF token: 403."""


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def operator(request: Request) -> Who:
    """The signed-in operator, or LoginRequired."""
    token = request.cookies.get(COOKIE, "")
    found = database(request).read(lambda s: who(s, token, utc_now())) if token else None
    if found is None:
        raise LoginRequired
    request.state.who = found
    return found


async def _csrf_ok(request: Request, who_: Who) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent.encode(), who_.csrf_token.encode())


async def reader(request: Request) -> Who:
    """Any signed-in operator; a POST from them still needs the CSRF token (exports, searches)."""
    who_ = operator(request)
    if request.method not in ("GET", "HEAD") and not await _csrf_ok(request, who_):
        raise CsrfRejected
    return who_


async def admin(request: Request) -> Who:
    """An admin, with the CSRF token on anything that is not a GET."""
    who_ = operator(request)
    if request.method not in ("GET", "HEAD") and not await _csrf_ok(request, who_):
        raise CsrfRejected
    if not who_.is_admin:
        raise AdminRequired
    return who_
