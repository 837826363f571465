"""Jinja2 rendering of console pages: autoescaped templates, the operator's catalogue and formats,
Plotly figures as JSON data drawn by a static script (so the CSP forbids inline scripts)."""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from tenure import __version__
from tenure.config import Settings
from tenure.errors import TenureError
from tenure.i18n import available, label, normalise, translate
from tenure.kit.formats import Formats
from tenure.operators.service import Who

# Scripts only from the console itself: a value that slipped through escaping still cannot run.
# Plotly sets inline styles, hence 'unsafe-inline' for styles only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

NAV = (
    ("overview", "/"),
    ("retention", "/retention"),
    ("funnels", "/funnels"),
    ("customers", "/customers"),
    ("segments", "/segments"),
    ("predictions", "/predictions"),
    ("recommendations", "/recommendations"),
    ("loyalty", "/loyalty"),
    ("offers", "/offers"),
    ("referrals", "/referrals"),
    ("campaigns", "/campaigns"),
    ("experiments", "/experiments"),
    ("review", "/review"),
)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tenure.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["chart"] = chart
    return env


def chart(figure: go.Figure) -> Markup:
    """A figure as JSON in an attribute that static/console.js draws: an attribute, not a script
    block, because htmx drops every `<script>` from what it swaps in (allowScriptTags is off)."""
    text = pio.to_json(figure, validate=False, engine="json")
    return Markup('<div class="chart" data-figure="{}"></div>').format(text)


def context(request: Request, who: Who | None, locale: str | None = None) -> dict[str, Any]:
    """What every template gets: `_`, `fmt`, the operator, the CSRF token, the navigation."""
    settings: Settings = request.app.state.settings
    chosen = normalise(locale or (who.locale if who else _accepted(request, settings)))
    return {
        "_": partial(translate, locale=chosen),
        "label": partial(label, locale=chosen),
        "fmt": Formats(chosen, settings.currency, settings.zone),
        "locale": chosen,
        "locales": available(),
        "who": who,
        "csrf_token": who.csrf_token if who else "",
        "nav": NAV,
        "path": request.url.path,
        "version": __version__,
        "shop_zone": settings.zone.key,
    }


def _accepted(request: Request, settings: Settings) -> str:
    """Before sign-in: `?lang=`, then Accept-Language's first tag, then the shop's setting."""
    asked = request.query_params.get("lang")
    if asked:
        return asked
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].split(";")[0].strip()
    return first or settings.locale


def page(
    request: Request, who: Who | None, template: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """A whole page, or, for an htmx request naming a fragment template, just that."""
    html = environment().get_template(template).render(**context(request, who), **values)
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


def missing(
    request: Request, who: Who, error: TenureError, *, title: str, back: str, back_label: str
) -> HTMLResponse:
    """The page for something that is not there (or not any more): the service's message, a
    way back, and the error's status (404, or 409 for a key already used)."""
    return page(
        request,
        who,
        "missing.html",
        status_code=error.status,
        title=title,
        error=error.message,
        back=back,
        back_label=back_label,
    )
