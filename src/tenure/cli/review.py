"""`tenure review`: the weekly review (复盘) as an HTML file, a PDF, or e-mailed to the operators
who subscribed to it."""

from __future__ import annotations

from pathlib import Path

import typer

from tenure.cli.context import console, day_option, friendly, services
from tenure.errors import BadRequest
from tenure.i18n import normalise, translate, use_locale
from tenure.ingest.tracking.flush import flush_inbox
from tenure.kit.time import utc_now

# Plain text, not Path: they are files written, and `--html`/`--pdf` read nothing.
HTML_HELP = "Write the review as one self-contained HTML file here (default when nothing else)."
PDF_HELP = "Write the review as a PDF here (prints the HTML with headless Chromium)."
SEND_HELP = "E-mail it to every subscribed operator, each in their language, once per week."
LOCALE_HELP = "Language of the files: en or zh-CN (default: TENURE_LOCALE)."
WEEK_HELP = "A day (YYYY-MM-DD) in the week to review; default: the last complete week."


def _locale(asked: str | None, default: str) -> str:
    """en or zh-CN (as users write them: zh, zh_CN, en-GB…); anything else is refused."""
    if asked is None:
        return normalise(default)
    if not asked.strip().lower().startswith(("en", "zh")):
        raise BadRequest(code="cli_invalid_input", field="--locale", reason="en or zh-CN")
    return normalise(asked)


def _write(path: str, data: str | bytes) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        out.write_bytes(data)
    else:
        out.write_text(data, "utf-8")
    return out.resolve()


@friendly
def review(
    week: str | None = typer.Option(None, "--week", help=WEEK_HELP),
    html: str | None = typer.Option(None, "--html", help=HTML_HELP),
    pdf: str | None = typer.Option(None, "--pdf", help=PDF_HELP),
    send: bool = typer.Option(False, "--send", help=SEND_HELP),
    locale: str | None = typer.Option(None, "--locale", help=LOCALE_HELP),
) -> None:
    """The weekly review: KPIs against last week and last year, cohorts, lifecycle, campaigns,
    offers, anomalies and segment movers."""
    # Jinja, Babel and every section's runner: only when asked.
    from tenure.kit.formats import Formats
    from tenure.reports.weekly.data import build_review, default_week
    from tenure.reports.weekly.jobs import send_reviews
    from tenure.reports.weekly.mail import smtp_sender
    from tenure.reports.weekly.pdf import chromium, html_to_pdf
    from tenure.reports.weekly.render import render_html
    from tenure.reports.weekly.weeks import Week

    day = day_option(week, "--week")
    svc = services()
    chosen = _locale(locale, svc.settings.locale)
    if pdf:
        chromium()  # no browser: say so before the work
    if send:
        smtp_sender(svc.settings).close()  # no SMTP server: the same
    flush_inbox(svc.settings, svc.database, svc.warehouse)
    now = utc_now()
    picked = Week.of(day) if day else default_week(svc.warehouse, svc.settings, now)
    if not (html or pdf or send):
        html = f"weekly-review-{picked.start.isoformat()}.html"
    with use_locale(chosen):
        if html or pdf:
            found = build_review(svc.settings, svc.database, svc.warehouse, picked, now)
            span = Formats(chosen, found.currency).week(picked.start, picked.end)
            document = render_html(found, chosen)
            for target, data in ((html, document), (pdf, None)):
                if not target:
                    continue
                path = _write(target, data if data is not None else html_to_pdf(document))
                console.print(
                    translate("review.cli.written", range=span, path=path),
                    highlight=False,
                    soft_wrap=True,  # a path broken across lines cannot be copied
                )
        if send:
            counts = send_reviews(
                svc.settings, svc.database, svc.warehouse, now, week=picked, wait_for_data=False
            )
            done = {k: int(counts.get(k, 0)) for k in ("sent", "retry", "failed")}
            skipped = int(counts["subscribers"]) - sum(done.values())
            span = Formats(chosen, svc.settings.currency).week(picked.start, picked.end)
            line = translate(
                "review.cli.sent",
                range=span,
                sent=done["sent"],
                retry=done["retry"],
                failed=done["failed"],
                skipped=skipped,
            )
            console.print(line)
