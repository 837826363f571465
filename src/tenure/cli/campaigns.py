"""`tenure campaigns …`: save, start and pause campaigns, preview, results, a user's history."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from tenure.campaigns import engine, playbook, policy
from tenure.campaigns.channels.config import senders_from
from tenure.campaigns.results import results as campaign_results
from tenure.campaigns.service import campaigns, contacts
from tenure.cli.context import console, emit_json, friendly, services
from tenure.cli.files import read_json_or_yaml, read_text
from tenure.errors import BadRequest
from tenure.i18n import translate
from tenure.kit.time import utc_now

app = typer.Typer(help="Campaigns and journeys: save, start, pause, preview, results.")
contacts_app = typer.Typer(help="How to reach customers: addresses, language, zone, consent.")
app.add_typer(contacts_app, name="contacts")
JSON = typer.Option(False, "--json", help="Print JSON.")
FILE = typer.Argument(..., help="The campaign document (JSON or YAML).", readable=False)


def _summary(row: Any) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "status": row.status,
        "version": row.version,
        "priority": row.priority,
        "trigger": row.trigger,
        "started_at": row.started_at.isoformat() if row.started_at else None,
    }


@app.command("validate")
@friendly
def validate(path: Path = FILE) -> None:
    """Check a campaign document and its templates without saving it."""
    campaign = campaigns.validate(read_json_or_yaml(path))
    console.print(
        translate("cli.campaigns.valid", campaign=campaign.key, steps=len(campaign.steps))
    )


@app.command("create")
@friendly
def create(
    path: Path | None = typer.Argument(
        None, help="The campaign document (JSON or YAML).", readable=False
    ),
    play: str | None = typer.Option(None, "--playbook", help="Start from a shipped playbook."),
    offer: str | None = typer.Option(None, "--offer", help="The offer a playbook's coupon uses."),
    key: str | None = typer.Option(None, "--key", help="Save under this key instead."),
    as_json: bool = JSON,
) -> None:
    """Save a new campaign as a draft (start it with `tenure campaigns start KEY`)."""
    if (path is None) == (play is None):
        raise BadRequest(code="cli_campaign_source")
    if play is not None:
        document = playbook.document(play, {"offer": offer or ""}, key)
    else:
        assert path is not None
        document = read_json_or_yaml(path)
        if key is not None and isinstance(document, dict):
            document["key"] = key
    row, _ = services().database.write(lambda s: campaigns.create(s, document, utc_now()))
    if as_json:
        emit_json(_summary(row))
        return
    console.print(translate("cli.campaigns.saved", campaign=row.key, version=row.version))


@app.command("playbooks")
@friendly
def list_playbooks(as_json: bool = JSON) -> None:
    """The ready-made campaigns `create --playbook NAME` starts from."""
    found = playbook.playbooks().values()
    if as_json:
        emit_json(
            [
                {"name": p.name, "key": p.key, "title": p.title, "needs": list(p.needs)}
                for p in found
            ]
        )
        return
    table = Table("playbook", "key", "title", "needs")
    for p in found:
        table.add_row(p.name, p.key, p.title, ", ".join(f"--{n}" for n in p.needs))
    console.print(table)


@app.command("update")
@friendly
def update(
    key: str,
    path: Path = FILE,
    expected: int | None = typer.Option(None, "--expected", help="Refuse unless at this version."),
) -> None:
    """Save a new version; users already in the journey keep the version they entered with."""
    document = read_json_or_yaml(path)
    row, _ = services().database.write(
        lambda s: campaigns.update(s, key, document, utc_now(), expected)
    )
    console.print(translate("cli.campaigns.saved", campaign=row.key, version=row.version))


def _transition(key: str, action: str) -> None:
    svc = services()
    channels = set(senders_from(svc.settings)) if action in ("start", "resume") else None
    row = svc.database.write(lambda s: campaigns.transition(s, key, action, utc_now(), channels))
    console.print(translate("cli.campaigns.status", campaign=row.key, status=row.status))


@app.command("start")
@friendly
def start(key: str) -> None:
    """Start a draft: its audience enters on the worker's next pass."""
    _transition(key, "start")


@app.command("pause")
@friendly
def pause(key: str) -> None:
    """Pause: nobody enters or moves on until it is resumed."""
    _transition(key, "pause")


@app.command("resume")
@friendly
def resume(key: str) -> None:
    """Resume a paused campaign."""
    _transition(key, "resume")


@app.command("finish")
@friendly
def finish(key: str) -> None:
    """End a campaign for good."""
    _transition(key, "finish")


@app.command("list")
@friendly
def list_campaigns(
    status: str | None = typer.Option(None, "--status", help="draft, active, paused, finished."),
    as_json: bool = JSON,
) -> None:
    """Every campaign with its status and version."""
    rows = [_summary(r) for r in services().database.read(lambda s: campaigns.listing(s, status))]
    if as_json:
        emit_json(rows)
        return
    table = Table("key", "name", "status", "version", "priority", "trigger", "started")
    for r in rows:
        table.add_row(
            r["key"],
            r["name"],
            r["status"],
            str(r["version"]),
            str(r["priority"]),
            r["trigger"],
            (r["started_at"] or "")[:19],
        )
    console.print(table)


@app.command("show")
@friendly
def show(key: str) -> None:
    """A campaign's current document (JSON)."""
    row, campaign = services().database.read(lambda s: campaigns.get(s, key))
    emit_json(
        {
            **_summary(row),
            "document": campaign.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
    )


@app.command("preview")
@friendly
def preview(key: str, user_id: str, as_json: bool = JSON) -> None:
    """Render every message of a campaign for one user, as it would go out now."""
    svc = services()
    engine_ = engine.dispatcher(svc.settings, svc.database, svc.warehouse, "preview")
    try:
        rendered = engine_.preview(key, user_id, utc_now())
    finally:
        for sender in engine_.senders.values():
            sender.close()
    if as_json:
        emit_json(
            [
                {"step": step, **{k: v for k, v in envelope.__dict__.items() if k != "data"}}
                for step, envelope in rendered
            ]
        )
        return
    for step, envelope in rendered:
        console.rule(f"{step} · {envelope.channel} · {envelope.locale} · {envelope.to or '-'}")
        for label, value in (
            ("subject", envelope.subject),
            ("title", envelope.title),
            ("text", envelope.text),
            ("html", envelope.html),
        ):
            if value:
                console.print(f"[bold]{label}[/bold]: {value}", markup=True, highlight=False)


@app.command("results")
@friendly
def results(key: str, as_json: bool = JSON) -> None:
    """Reach, delivery, engagement, and the lift over the holdout with 95 % intervals."""
    svc = services()
    found = campaign_results(svc.database, svc.warehouse, key, utc_now())
    if as_json:
        emit_json(found.model_dump(mode="json"))
        return
    arms = Table("arm", "users", "converted", "conversion", f"revenue ({found.currency or '-'})")
    for arm in found.arms:
        rate = "–" if arm.conversion_rate is None else f"{arm.conversion_rate:.2%}"
        arms.add_row(arm.arm, f"{arm.users:,}", f"{arm.converted:,}", rate, f"{arm.revenue:,.2f}")
    console.print(arms)
    lifts = Table("against", "metric", "difference", "95 % interval", "p")
    for lift in found.lifts:
        interval = "–" if lift.ci_low is None else f"[{lift.ci_low:.4g}, {lift.ci_high:.4g}]"
        lifts.add_row(
            lift.against,
            lift.metric,
            "–" if lift.difference is None else f"{lift.difference:.4g}",
            interval,
            "–" if lift.p_value is None else f"{lift.p_value:.3g}",
        )
    console.print(lifts)
    c = found.costs
    roi = "–" if c.roi is None else f"{c.roi:.2f}"
    line = translate(
        "cli.campaigns.costs", given=c.coupons_given, used=c.coupons_used,
        discount=f"{c.coupon_discount:,.2f}", points=c.points_granted,
        value=f"{c.points_value:,.2f}", currency=c.currency or "", roi=roi,
    )  # fmt: skip
    console.print(line)
    steps = Table(
        "step",
        "sent",
        "deferred/queued",
        "skipped",
        "dropped",
        "failed",
        "held out",
        "opened",
        "clicked",
        "unsubscribed",
    )
    for step in found.steps:
        m, e = step.messages, step.engaged
        steps.add_row(
            step.step_id,
            str(m["sent"]),
            str(m["queued"]),
            str(step.skipped),
            str(m["dropped"]),
            str(m["failed"] + m["dead"]),
            str(step.held_out),
            str(e["opened"]),
            str(e["clicked"]),
            str(e["unsubscribed"]),
        )
    console.print(steps)


@app.command("history")
@friendly
def history(user_id: str, as_json: bool = JSON) -> None:
    """Every campaign decision about one user: entered, sent, deferred until …, skipped because …"""
    entries, decisions = services().database.read(lambda s: campaigns.history(s, user_id))
    rows = [
        {
            "at": d.at.isoformat(),
            "campaign": d.campaign_key,
            "step": d.step_id,
            "action": d.action,
            "reason": d.reason,
            "until": d.until.isoformat() if d.until else None,
        }
        for d in decisions
    ]
    if as_json:
        emit_json(
            {
                "enrollments": [
                    {
                        "campaign": e.campaign_key,
                        "version": e.version,
                        "arm": e.arm,
                        "state": e.state,
                        "step": e.step_id,
                    }
                    for e in entries
                ],
                "decisions": rows,
            }
        )
        return
    table = Table("at", "campaign", "step", "action", "reason", "until")
    for r in rows:
        table.add_row(
            str(r["at"])[:19],
            r["campaign"],
            r["step"] or "",
            r["action"],
            r["reason"] or "",
            str(r["until"] or "")[:19],
        )
    console.print(table)


@app.command("dispatch")
@friendly
def dispatch() -> None:
    """One pass of the engine now: audiences, journeys, delivery (`tenure worker` loops it)."""
    svc = services()
    runner = engine.dispatcher(svc.settings, svc.database, svc.warehouse, "cli")
    try:
        done = runner.run_once()
    finally:
        for sender in runner.senders.values():
            sender.close()
    console.print(
        translate(
            "cli.campaigns.dispatched",
            entered=done.entered,
            advanced=done.advanced,
            queued=done.queued,
            sent=done.sent,
            failed=done.failed,
        )
    )


@app.command("policy")
@friendly
def show_policy(
    path: Path | None = typer.Option(
        None, "--set", help="Replace it with this document.", readable=False
    ),
) -> None:
    """The shop-wide frequency caps, quiet hours and global control share (JSON)."""
    database = services().database
    if path is not None:
        document = read_json_or_yaml(path)
        database.write(lambda s: policy.save(s, document, utc_now()))
    emit_json(database.read(policy.current).model_dump(mode="json"))


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


CONTACT_FIELDS = ("email", "phone", "push_token", "locale", "timezone")


@contacts_app.command("import")
@friendly
def import_contacts(
    path: Path = typer.Argument(
        ...,
        help="CSV: user_id, email, phone, push_token, locale, timezone, "
        "consent_email, consent_sms, consent_push (opted_in/opted_out).",
        readable=False,
    ),
    source: str = typer.Option("import", "--source", help="Where the consent was given."),
) -> None:
    """Add or update contacts and consent from a CSV file (all rows or none)."""
    rows = list(csv.DictReader(read_text(path).splitlines()))
    for number, row in enumerate(rows, start=2):
        if not (row.get("user_id") or "").strip():
            raise BadRequest(code="cli_contacts_row", row=number, reason="user_id is empty")
        zone = (row.get("timezone") or "").strip()
        if zone and not _known_zone(zone):
            raise BadRequest(code="cli_contacts_row", row=number, reason=f"unknown zone {zone}")
        for channel in contacts.CONSENT_CHANNELS:
            value = (row.get(f"consent_{channel}") or "").strip()
            if value and value not in contacts.CONSENT_STATES:
                raise BadRequest(
                    code="cli_contacts_row",
                    row=number,
                    reason=f"consent_{channel} must be opted_in or opted_out",
                )
    now = utc_now()

    def work(session: Any) -> int:
        for row in rows:
            user = row["user_id"].strip()
            values = {f: row[f].strip() for f in CONTACT_FIELDS if (row.get(f) or "").strip()}
            contacts.upsert_contact(session, user, values, now)
            for channel in contacts.CONSENT_CHANNELS:
                value = (row.get(f"consent_{channel}") or "").strip()
                if value:
                    contacts.set_consent(session, user, channel, value, source, now)
        return len(rows)

    count = services().database.write(work)
    console.print(translate("cli.campaigns.contacts_imported", count=count))
