"""The review by e-mail: one multipart message (plain text + HTML) per operator, in their
language, through the campaigns' SMTP sender (`campaigns/channels/email.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from tenure.campaigns.channels.base import Envelope
from tenure.campaigns.channels.email import SmtpSender
from tenure.config import Settings
from tenure.errors import TenureError
from tenure.i18n import normalise, translate, use_locale
from tenure.kit.formats import Formats
from tenure.reports.weekly.data import WeeklyReview
from tenure.reports.weekly.render import render_html, render_text, subject


class ReviewMailUnconfigured(TenureError):
    """No SMTP server, or one that cannot be used, to send the review through."""

    code = "review_smtp_missing"
    status = 503


@dataclass(frozen=True)
class Mail:
    """One rendered review e-mail."""

    subject: str
    text: str
    html: str


def review_link(settings: Settings, week: date) -> str:
    """The review's page in the console."""
    return f"{settings.public_url.rstrip('/')}/review?week={quote(week.isoformat())}"


def compose(review: WeeklyReview, locale: str, settings: Settings) -> Mail:
    """The subject, text and HTML of the review e-mail in `locale`."""
    chosen = normalise(locale)
    with use_locale(chosen):
        span = Formats(chosen, review.currency).week(review.week.start, review.week.end)
        lines = {
            "intro": translate("review.mail.intro", locale=chosen, range=span),
            "outro": translate(
                "review.mail.why",
                locale=chosen,
                account=f"{settings.public_url.rstrip('/')}/account",
            ),
            "link": review_link(settings, review.week.start),
        }
        return Mail(
            subject=subject(review, chosen),
            text=render_text(review, chosen, **lines),
            html=render_html(review, chosen, **lines),
        )


def message_id(operator_id: int, week: date) -> str:
    """The same id on every try of one (operator, week), so a receiver can drop a duplicate."""
    return f"weekly-review-{week.isoformat()}-{operator_id}"


def envelope(mail: Mail, to: str, locale: str, operator_id: int, week: date) -> Envelope:
    """The message for the e-mail channel."""
    return Envelope(
        message_id=message_id(operator_id, week),
        channel="email",
        user_id=f"operator:{operator_id}",
        to=to,
        locale=normalise(locale),
        text=mail.text,
        subject=mail.subject,
        html=mail.html,
    )


def smtp_sender(settings: Settings) -> SmtpSender:
    """A sender on `TENURE_SMTP_URL` from `TENURE_EMAIL_FROM`; ReviewMailUnconfigured without."""
    if not settings.smtp_url:
        raise ReviewMailUnconfigured(reason="TENURE_SMTP_URL is not set")
    try:
        return SmtpSender(
            settings.smtp_url,
            settings.email_from,
            rate_per_second=settings.email_rate_per_second,
        )
    except ValueError as exc:
        raise ReviewMailUnconfigured(reason=str(exc)) from None
