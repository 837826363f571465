"""`tenure referrals …`: invite codes, attribution, orders, the review queue, groups, due jobs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich.table import Table
from sqlalchemy.orm import Session

from tenure.cli.context import console, emit_json, friendly, services
from tenure.cli.files import read_document
from tenure.config import get_settings
from tenure.i18n import translate
from tenure.kit.money import Money
from tenure.kit.time import parse_iso, utc_now
from tenure.referrals import config, groups, jobs, rewards, service
from tenure.referrals.config import Program
from tenure.referrals.schemas import DecisionOut, GroupOut, ReferralOut, RewardOut

app = typer.Typer(help="Referrals: invite codes, attribution, rewards, review queue, group buys.")
config_app = typer.Typer(help="The referral program (rewards, return window, abuse limits).")
groups_app = typer.Typer(help="Group buys (拼团): open, join, show, list.")
app.add_typer(config_app, name="config")
app.add_typer(groups_app, name="groups")
T = TypeVar("T")
JSON = typer.Option(False, "--json", help="Print JSON.")


def _write(work: Callable[[Session, Program], T]) -> T:
    return services().database.write(lambda s: work(s, config.current_program(s)[1]))


def _read(work: Callable[[Session, Program], T]) -> T:
    return services().database.read(lambda s: work(s, config.current_program(s)[1]))


def _emit(model: BaseModel | list[Any], as_json: bool, line: str) -> bool:
    """Print JSON when asked (True), else leave the human output to the caller (False)."""
    if as_json:
        if isinstance(model, list):
            emit_json([m.model_dump(mode="json") for m in model])
        else:
            emit_json(model.model_dump(mode="json"))
        return True
    if line:
        console.print(line)
    return False


@app.command("code")
@friendly
def code(
    user_id: str,
    device: str | None = typer.Option(None, "--device", help="The customer's device id."),
    ip: str | None = typer.Option(None, "--ip", help="The customer's IP address."),
    as_json: bool = JSON,
) -> None:
    """The customer's invite code and share link (created on first use)."""
    now = utc_now()

    def work(s: Session, p: Program) -> dict[str, Any]:
        row = service.code_for(s, user_id, now, device, ip)
        link = p.link_template.replace("{code}", row.code)
        return {"user_id": user_id, "referral_code": row.code, "link": link}

    out = _write(work)
    if as_json:
        emit_json(out)
        return
    console.print(translate("cli.referrals.code", **out))


@app.command("disable")
@friendly
def disable(code_text: str = typer.Argument(..., metavar="CODE")) -> None:
    """Stop new sign-ups through a code."""
    _write(lambda s, p: service.set_code_disabled(s, code_text, True, utc_now()))


@app.command("enable")
@friendly
def enable(code_text: str = typer.Argument(..., metavar="CODE")) -> None:
    """Let a disabled code attribute sign-ups again."""
    _write(lambda s, p: service.set_code_disabled(s, code_text, False, utc_now()))


@app.command("attribute")
@friendly
def attribute(
    invitee_id: str,
    code_text: str = typer.Argument(..., metavar="CODE"),
    device: str | None = typer.Option(None, "--device"),
    ip: str | None = typer.Option(None, "--ip"),
    as_json: bool = JSON,
) -> None:
    """Attribute a sign-up to the code's owner (once per invitee)."""
    now = utc_now()
    found = _write(lambda s, p: service.attribute(s, p, code_text, invitee_id, now, device, ip))
    out = ReferralOut.of(found.referral)
    if not _emit(out, as_json, ""):
        console.print(
            translate(
                "cli.referrals.attributed", invitee_id=out.invitee_id, referrer_id=out.referrer_id,
                referral_id=out.id, status=out.status,
            )
        )  # fmt: skip


@app.command("order")
@friendly
def order(
    order_id: str,
    user_id: str,
    amount_minor: int,
    currency: str | None = typer.Option(None, "--currency", help="Default: the shop's."),
    paid_at: str | None = typer.Option(None, "--paid-at", help="ISO time; default now."),
    payment: str | None = typer.Option(None, "--payment", help="Payment fingerprint."),
    as_json: bool = JSON,
) -> None:
    """Report a referred customer's paid order."""
    settings, now = services().settings, utc_now()
    paid = parse_iso(paid_at) if paid_at else now
    outcome = _write(
        lambda s, p: service.record_order(
            s, p, settings.currency, order_id, user_id, paid, amount_minor,
            currency or settings.currency, now, payment,
        )
    )  # fmt: skip
    if as_json:
        referral = ReferralOut.of(outcome.referral) if outcome.referral else None
        emit_json(
            {
                "order_id": order_id,
                "qualifies": outcome.qualifies,
                "reason": outcome.reason,
                "referral": referral.model_dump(mode="json") if referral else None,
            }
        )
        return
    console.print(translate("cli.referrals.order", order_id=order_id, reason=outcome.reason))


@app.command("refund")
@friendly
def refund(
    order_id: str,
    cancelled: bool = typer.Option(False, "--cancelled", help="The order was cancelled."),
    refunded_total: str | None = typer.Option(
        None,
        "--refunded-total",
        help="A partial refund: the order's refunded total so far (e.g. 30.00).",
    ),
    as_json: bool = JSON,
) -> None:
    """Report a refund (or cancellation) of a referral's qualifying order; safe to repeat."""
    reason = "cancelled" if cancelled else "refunded"
    total = (
        None if refunded_total is None else Money.of(refunded_total, get_settings().currency).minor
    )
    out = ReferralOut.of(
        _write(lambda s, p: service.refund_order(s, p, order_id, utc_now(), reason, total))
    )
    if not _emit(out, as_json, ""):
        console.print(translate("cli.referrals.reviewed", referral_id=out.id, status=out.status))


def _table(rows: list[ReferralOut]) -> Table:
    table = Table("id", "referrer", "invitee", "status", "attributed", "confirm at", "holds")
    for r in rows:
        table.add_row(
            r.id, r.referrer_id, r.invitee_id, r.status, f"{r.attributed_at:%Y-%m-%d %H:%M}",
            f"{r.confirm_at:%Y-%m-%d %H:%M}" if r.confirm_at else "-", " ".join(r.hold_reasons),
        )  # fmt: skip
    return table


@app.command("list")
@friendly
def listing(
    status: str | None = typer.Option(None, "--status", help="held = the review queue."),
    referrer: str | None = typer.Option(None, "--referrer"),
    limit: int = typer.Option(100, "--limit"),
    as_json: bool = JSON,
) -> None:
    """Referrals, newest first."""
    rows = _read(lambda s, p: service.list_referrals(s, status, referrer, limit))
    out = [ReferralOut.of(r) for r in rows]
    if not _emit(out, as_json, "" if out else translate("cli.referrals.empty")) and out:
        console.print(_table(out))


@app.command("show")
@friendly
def show(referral_id: str, as_json: bool = JSON) -> None:
    """One referral with its abuse decisions and rewards."""
    found = _read(lambda s, p: service.detail(s, referral_id))
    data = {
        **ReferralOut.of(found.referral).model_dump(mode="json"),
        "decisions": [DecisionOut.of(d).model_dump(mode="json") for d in found.decisions],
        "rewards": [RewardOut.of(r).model_dump(mode="json") for r in found.rewards],
    }
    if as_json:
        emit_json(data)
        return
    console.print(_table([ReferralOut.of(found.referral)]))
    for d in data["decisions"]:
        console.print(f"  {d['rule']} → {d['action']}  {json.dumps(d['data'])}")
    for r in data["rewards"]:
        console.print(f"  {r['side']}: {r['status']} {r['points']} points {r['coupon_code'] or ''}")
        if r["reason"]:
            console.print(
                translate(
                    "cli.referrals.reward_closed", reason=r["reason"],
                    points_reversed=r["points_reversed"], points_shortfall=r["points_shortfall"],
                    coupon=r["coupon_outcome"] or "-",
                )
            )  # fmt: skip


def _review(referral_id: str, approve_it: bool, reviewer: str, note: str | None) -> None:
    now, zone = utc_now(), services().settings.zone
    if approve_it:
        row = _write(lambda s, p: rewards.approve(s, p, referral_id, reviewer, note, zone, now))
    else:
        row = _write(lambda s, p: rewards.reject(s, referral_id, reviewer, note, now))
    console.print(translate("cli.referrals.reviewed", referral_id=row.id, status=row.status))


@app.command("approve")
@friendly
def approve(
    referral_id: str,
    reviewer: str = typer.Option("operator", "--reviewer"),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Approve a held referral: both sides are rewarded now."""
    _review(referral_id, True, reviewer, note)


@app.command("reject")
@friendly
def reject(
    referral_id: str,
    reviewer: str = typer.Option("operator", "--reviewer"),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Reject a held referral: nobody is rewarded for it."""
    _review(referral_id, False, reviewer, note)


@app.command("decisions")
@friendly
def decisions(limit: int = typer.Option(50, "--limit"), as_json: bool = JSON) -> None:
    """The abuse rules that fired, newest first, with their reasons."""
    out = [DecisionOut.of(d) for d in _read(lambda s, p: service.decisions(s, None, limit))]
    if _emit(out, as_json, "" if out else translate("cli.referrals.empty")) or not out:
        return
    table = Table("when", "rule", "action", "referrer", "invitee", "data")
    for d in out:
        table.add_row(
            f"{d.created_at:%Y-%m-%d %H:%M}", d.rule, d.action, d.referrer_id, d.invitee_id,
            json.dumps(d.data),
        )  # fmt: skip
    console.print(table)


@app.command("run-due")
@friendly
def run_due(as_json: bool = JSON) -> None:
    """Reward or hold referrals past their return window; fail groups past their deadline."""
    svc = services()
    result = jobs.run_due(svc.database, svc.settings.zone, utc_now())
    if as_json:
        emit_json(result)
        return
    console.print(translate("cli.referrals.due", **result))


@config_app.command("show")
@friendly
def config_show() -> None:
    """Print the live program as JSON."""
    version, program = services().database.read(config.current_program)
    emit_json({"version": version, "config": program.model_dump(mode="json")})


@config_app.command("set")
@friendly
def config_set(
    path: Path = typer.Argument(..., readable=False, help="A .json or .toml file."),
    expected: int | None = typer.Option(None, "--expected-version"),
) -> None:
    """Replace the program from a file."""
    document = read_document(path)
    version, _ = services().database.write(
        lambda s: config.save_program(s, document, utc_now(), expected)
    )
    console.print(translate("cli.referrals.config_saved", version=version))


def _group_line(g: GroupOut) -> str:
    return translate(
        "cli.referrals.group", group_id=g.id, status=g.status, members=g.members, size=g.size,
        deadline=f"{g.deadline:%Y-%m-%d %H:%M} UTC",
    )  # fmt: skip


@groups_app.command("open")
@friendly
def group_open(
    sku: str,
    group_price_minor: int,
    size: int,
    hours: int,
    leader_id: str,
    currency: str | None = typer.Option(None, "--currency", help="Default: the shop's."),
    as_json: bool = JSON,
) -> None:
    """Open a group buy with its leader as the first member."""
    svc, now = services(), utc_now()
    joined = svc.database.write(lambda s: groups.open_group(
            s, sku, group_price_minor, currency or svc.settings.currency, size, hours,
            leader_id, now,
        ),
    )  # fmt: skip
    out = GroupOut.of(joined.group)
    _emit(out, as_json, "" if as_json else _group_line(out))


@groups_app.command("join")
@friendly
def group_join(group_id: str, user_id: str, as_json: bool = JSON) -> None:
    """Join a group; the last place completes it."""
    joined = services().database.write(lambda s: groups.join(s, group_id, user_id, utc_now()))
    out = GroupOut.of(joined.group)
    _emit(out, as_json, "" if as_json else _group_line(out))


@groups_app.command("leave")
@friendly
def group_leave(group_id: str, user_id: str) -> None:
    """Leave an open group: the member's hold is released."""
    services().database.write(lambda s: groups.leave(s, group_id, user_id, utc_now()))
    group, _ = services().database.read(lambda s: groups.get(s, group_id))
    console.print(_group_line(GroupOut.of(group)))


@groups_app.command("show")
@friendly
def group_show(group_id: str, as_json: bool = JSON) -> None:
    """A group with its members' hold statuses."""
    group, members = services().database.read(lambda s: groups.get(s, group_id))
    out = GroupOut.of(group, members)
    if _emit(out, as_json, "" if as_json else _group_line(out)):
        return
    for m in out.member_list or []:
        console.print(f"  {m.user_id}: {m.status}")


@groups_app.command("list")
@friendly
def group_list(
    status: str | None = typer.Option(None, "--status", help="open, completed or failed."),
    limit: int = typer.Option(100, "--limit"),
    as_json: bool = JSON,
) -> None:
    """Groups, newest first."""
    rows = services().database.read(lambda s: groups.listing(s, status, limit=limit))
    out = [GroupOut.of(g) for g in rows]
    if _emit(out, as_json, "" if out else translate("cli.referrals.empty")):
        return
    for g in out:
        console.print(_group_line(g))
