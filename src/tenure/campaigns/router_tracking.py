"""Links in messages (no API key; each carries a signed token): the open pixel, click
redirects and one-click unsubscribe (RFC 8058).

A token is signed for one purpose with the installation's secret (`links.secret_key`), so
a link cannot be pointed at another target or turned into another kind of link. Mounted under
/v1/t by router.py, matching the URLs `service.links.Links` builds.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from tenure.campaigns.errors import TokenInvalid
from tenure.campaigns.service import contacts, links
from tenure.kit.time import utc_now
from tenure.storage.database import Database

router = APIRouter(tags=["campaign links"])

# The smallest transparent GIF: 1×1, one transparent colour.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
# A redirect or page must not be cached (each visit is recorded) nor pass the token on.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
PAGE_HEADERS = {
    **PRIVATE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Robots-Tag": "noindex",
}
REASON_LENGTH = 300  # campaign_decisions.reason, where a click's target is kept


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _payload(request: Request, purpose: str, token: str) -> dict[str, Any]:
    """The token's payload, or TokenInvalid (forged, altered, another purpose, no message id)."""
    payload = links.read(links.secret_key(request.app.state.settings), purpose, token, utc_now())
    if not isinstance(payload.get("m"), str):
        raise TokenInvalid()
    return payload


def _track(request: Request, message_id: str, action: str, target: str | None = None) -> bool:
    """Record the action once per message; False when the message is unknown."""
    now = utc_now()
    try:
        _database(request).write(lambda s: contacts.track(s, message_id, action, now, target))
    except TokenInvalid:  # signed by us, but the message is gone
        return False
    return True


@router.get("/open/{token}", summary="Open-tracking pixel", response_class=Response)
def opened(request: Request, token: str) -> Response:
    """A 1×1 transparent GIF, whatever the token: the pixel never tells a valid token from a
    forged one. Only a valid token records the open (once per message)."""
    try:
        payload = _payload(request, "open", token)
    except TokenInvalid:
        payload = None
    if payload is not None:
        _track(request, payload["m"], "opened")
    return Response(PIXEL, media_type="image/gif", headers=PRIVATE)


@router.get("/click/{token}", summary="Click redirect", status_code=302)
def clicked(request: Request, token: str) -> RedirectResponse:
    """Record the click (and the open it proves), then 302 to the signed target. A token whose
    signature does not check out is a 400 `campaign_token_invalid`: never a redirect."""
    payload = _payload(request, "click", token)
    target = payload.get("u")
    if not isinstance(target, str) or not target:
        raise TokenInvalid()
    _track(request, payload["m"], "clicked", target[:REASON_LENGTH])
    return RedirectResponse(target, status_code=302, headers=PRIVATE)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;"
        "max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2933}button{font-size:1rem;"
        "padding:.5rem 1.25rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


@router.get("/unsubscribe/{token}", summary="Unsubscribe page", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    """A page that asks to confirm; nothing is recorded until its form is posted (link
    scanners follow GET links)."""
    _payload(request, "unsubscribe", token)
    action = html.escape(f"{request.url.path.rsplit('/', 1)[0]}/{quote(token, safe='')}")
    body = (
        "<p>Do you want to stop receiving these messages?</p>"
        f"<form method='post' action='{action}'>"
        "<input type='hidden' name='List-Unsubscribe' value='One-Click'>"
        "<button type='submit'>Unsubscribe</button></form>"
    )
    return HTMLResponse(_page("Unsubscribe", body), headers=PAGE_HEADERS)


@router.post("/unsubscribe/{token}", summary="One-click unsubscribe", response_class=HTMLResponse)
def unsubscribe(request: Request, token: str) -> HTMLResponse:
    """Opt the user out of the message's channel. This is the RFC 8058 one-click address mail
    clients POST `List-Unsubscribe=One-Click` to; any body is accepted. Safe to repeat."""
    payload = _payload(request, "unsubscribe", token)
    if not _track(request, payload["m"], "unsubscribed"):
        raise TokenInvalid()
    body = "<p>You have been unsubscribed and will not receive these messages any more.</p>"
    return HTMLResponse(_page("Unsubscribed", body), headers=PAGE_HEADERS)
