"""The review as a self-contained HTML document (inline CSS, no script: it must read the same in a
mail client and in the PDF), as the console's fragment, and as plain text for the e-mail."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache, partial
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from tenure import __version__
from tenure.i18n import normalise, translate
from tenure.kit.formats import DASH, Formats
from tenure.reports.weekly.data import COHORTS, HISTORY_WEEKS, KpiLine, WeeklyReview, trend_heights

FLOW_ROWS = 12
_WHITE = (255, 255, 255)
_BLUE = (38, 128, 194)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Autoescaped for .html; the plain-text part (.txt) is not HTML and is not escaped."""
    return Environment(
        loader=PackageLoader("tenure.reports.weekly", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def heat(rate: float | None) -> str:
    """A cell colour for a retention rate: white at 0, the accent blue at 60 % and above."""
    if rate is None:
        return "#f6f7f9"
    share = max(0.0, min(1.0, rate / 0.6))
    r, g, b = (round(w + (c - w) * share * 0.55) for w, c in zip(_WHITE, _BLUE, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _value(fmt: Formats, line: KpiLine, value: float | int | None) -> str:
    if line.is_money:
        return fmt.money(value, line.currency)
    if line.is_rate:
        return fmt.percent(value)
    return fmt.number(value)


def _delta(fmt: Formats, line: KpiLine, change: float | None) -> str:
    if change is None:
        return DASH
    return fmt.points(change) if line.is_rate else fmt.change(change)


def subject(review: WeeklyReview, locale: str) -> str:
    """The e-mail subject: "Weekly review: Aug 12 – 18, 2024"."""
    fmt = Formats(normalise(locale), review.currency)
    return translate(
        "review.mail.subject", locale=locale, range=fmt.week(review.week.start, review.week.end)
    )


def _values(review: WeeklyReview, locale: str, **extra: Any) -> dict[str, Any]:
    chosen = normalise(locale)
    fmt = Formats(chosen, review.currency)
    values: dict[str, Any] = {
        "r": review,
        "_": partial(translate, locale=chosen),
        "fmt": fmt,
        "locale": chosen,
        "heat": heat,
        "heights": trend_heights,
        "value": partial(_value, fmt),
        "delta": partial(_delta, fmt),
        "trend_weeks": HISTORY_WEEKS + 1,
        "cohort_weeks": COHORTS,
        "flow_rows": FLOW_ROWS,
        "one_week_less_a_day": timedelta(days=6),
        "generated_day": review.generated_at.astimezone(ZoneInfo(review.zone)).date(),
        "version": __version__,
        "intro": None,
        "outro": None,
        "link": None,
    }
    values.update(extra)
    return values


def render_html(review: WeeklyReview, locale: str, **extra: Any) -> str:
    """The whole document: the e-mail's HTML part and the PDF's source. `intro`, `outro` and
    `link` (the console's address) add the e-mail's lines around the review."""
    return environment().get_template("review.html").render(**_values(review, locale, **extra))


def render_body(review: WeeklyReview, locale: str) -> Markup:
    """The review's content for the console page (built by the autoescaped template)."""
    html = environment().get_template("_body.html").render(**_values(review, locale))
    return Markup(html)  # built by the autoescaped template: every value in it is escaped


def render_text(review: WeeklyReview, locale: str, **extra: Any) -> str:
    """The plain-text version: the e-mail's text part."""
    return environment().get_template("review.txt").render(**_values(review, locale, **extra))
