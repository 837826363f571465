"""`tenure loyalty …`: points, orders, check-ins, tiers, the program, liability and due jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from tenure.cli.context import console, emit_json, friendly, services
from tenure.cli.files import read_document
from tenure.i18n import translate
from tenure.kit.ids import new_id
from tenure.kit.time import parse_iso, utc_now
from tenure.loyalty import jobs, liability, membership, orders, points, rewards, tasks
from tenure.loyalty.checkin import service as checkin
from tenure.loyalty.program import Program, current_program, program_history, save_program
from tenure.loyalty.schemas import TransactionOut
from tenure.loyalty.tiers import service as tiers

app = typer.Typer(help="Loyalty: points ledger, orders, check-ins, tiers, program, jobs.")
program_app = typer.Typer(help="The program configuration (versioned in the database).")
rewards_app = typer.Typer(help="The rewards catalogue.")
app.add_typer(program_app, name="program")
app.add_typer(rewards_app, name="rewards")
T = TypeVar("T")
JSON = typer.Option(False, "--json", help="Print JSON.")


def _write(work: Callable[[Session, Program], T]) -> T:
    svc = services()

    def unit(session: Session) -> T:
        return work(session, current_program(session)[1])

    return svc.database.write(unit)


def _read(work: Callable[[Session, Program], T]) -> T:
    svc = services()
    return svc.database.read(lambda s: work(s, current_program(s)[1]))


def _zone() -> Any:
    return services().settings.zone


def _show_tx(outcome: points.Outcome, as_json: bool) -> None:
    out = TransactionOut.of(outcome.transaction, outcome.replayed)
    if as_json:
        emit_json(out.model_dump(mode="json"))
        return
    replay = " [dim](replayed)[/]" if outcome.replayed else ""
    console.print(
        f"{out.kind} {out.points:+d} points for {out.user_id}: balance {out.balance}, "
        f"pending {out.pending}, reserved {out.reserved}{replay}"
    )


def _key(key: str | None) -> str:
    # Operators rarely retry by hand; a fresh key each run, printed so a retry can reuse it.
    return key or new_id("cli")


@app.command("account")
@friendly
def account(user_id: str, as_json: bool = JSON) -> None:
    """Balances, tier progress, membership and points expiring soon."""
    found = _read(lambda s, p: points.summary(s, p, user_id, utc_now()))
    if as_json:
        emit_json(asdict(found))
        return
    table = Table("", "", show_header=False, title=f"loyalty account {user_id}")
    b = found.balances
    for name, value in (
        ("available", b.available),
        ("pending", b.pending),
        ("reserved", b.reserved),
        ("tier", found.tier or "-"),
        ("qualifying value", found.qualifying_value),
        ("next tier", f"{found.next_tier} (in {found.to_next_tier})" if found.next_tier else "-"),
        ("membership", found.membership.plan or "-"),
        ("expiring soon", f"{found.expiring_points} before {found.expiring_before:%Y-%m-%d}"),
    ):
        table.add_row(name, str(value))
    console.print(table)


@app.command("history")
@friendly
def history(user_id: str, limit: int = typer.Option(50), as_json: bool = JSON) -> None:
    """The member's ledger, newest first."""
    rows = [TransactionOut.of(t) for t in _read(lambda s, p: points.history(s, user_id, limit))]
    if as_json:
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("when", "kind", "reason", "points", "balance", "pending", "reserved")
    for r in rows:
        table.add_row(
            f"{r.created_at:%Y-%m-%d %H:%M}", r.kind, r.reason, f"{r.points:+d}",
            str(r.balance), str(r.pending), str(r.reserved),
        )  # fmt: skip
    console.print(table)


@app.command("adjust")
@friendly
def adjust(
    user_id: str,
    amount: int = typer.Argument(..., help="Points to add (negative to deduct)."),
    reason: str = typer.Option(..., "--reason", help="Why, for the audit trail."),
    key: str | None = typer.Option(None, "--key", help="Idempotency key (retries replay)."),
    as_json: bool = JSON,
) -> None:
    """Correct a balance: a new lot, or a deduction from the oldest points."""
    idem = _key(key)
    outcome = _write(lambda s, p: points.adjust(s, p, user_id, amount, reason, idem, utc_now()))
    _show_tx(outcome, as_json)


@app.command("spend")
@friendly
def spend(
    user_id: str,
    amount: int,
    reason: str = typer.Option("spend", "--reason"),
    key: str | None = typer.Option(None, "--key", help="Idempotency key."),
    as_json: bool = JSON,
) -> None:
    """Spend points now (fails with points_insufficient when the balance is short)."""
    idem = _key(key)
    _show_tx(
        _write(lambda s, p: points.spend(s, user_id, amount, reason, idem, utc_now())), as_json
    )


@app.command("earn")
@friendly
def earn(
    user_id: str,
    action: str = typer.Argument(..., help="signup, review, birthday, … (see the program)."),
    key: str | None = typer.Option(None, "--key", help="Idempotency key."),
    as_json: bool = JSON,
) -> None:
    """Award an action's points within its caps."""
    idem, zone = _key(key), _zone()
    outcome = _write(lambda s, p: points.earn_action(s, p, zone, user_id, action, idem, utc_now()))
    _show_tx(outcome, as_json)


@app.command("order-paid")
@friendly
def order_paid(
    order_id: str,
    user_id: str,
    amount_minor: int,
    currency: str | None = typer.Option(None, "--currency", help="Default: the program's."),
    paid_at: str | None = typer.Option(None, "--paid-at", help="ISO-8601; default now."),
    as_json: bool = JSON,
) -> None:
    """Earn points for a paid order (once per order id)."""
    zone, now = _zone(), utc_now()
    result = _write(
        lambda s, p: orders.order_paid(
            s, p, zone, user_id=user_id, order_id=order_id, amount_minor=amount_minor,
            currency=currency or p.currency, paid_at=parse_iso(paid_at) if paid_at else now,
            now=now,
        )
    )  # fmt: skip
    data = {
        "order_id": order_id,
        "points": result.points,
        "bonus_points": result.bonus_points,
        "pending": result.pending,
        "confirm_at": result.confirm_at,
        "tier": result.tier,
        "replayed": result.replayed,
    }
    if as_json:
        emit_json(data)
    else:
        console.print(", ".join(f"{k} {v}" for k, v in data.items()))


@app.command("order-refunded")
@friendly
def order_refunded(order_id: str, refund_id: str, amount_minor: int, as_json: bool = JSON) -> None:
    """Take back the refunded share of an order's points (once per refund id)."""
    result = _write(
        lambda s, p: orders.order_refunded(s, order_id, refund_id, amount_minor, utc_now())
    )
    _show_tx(points.Outcome(result.transaction, result.replayed), as_json)


@app.command("checkin")
@friendly
def check_in(user_id: str) -> None:
    """Check a member in for today (shop's zone)."""
    zone = _zone()
    row = _write(lambda s, p: checkin.check_in(s, p, zone, user_id, utc_now()))
    console.print(
        translate(
            "cli.loyalty.checked_in",
            user_id=user_id,
            date=row.local_date,
            streak=row.streak,
            points=row.points,
        )
    )


@app.command("task")
@friendly
def task(user_id: str, code: str) -> None:
    """Complete a one-off task for a member."""
    row = _write(lambda s, p: tasks.complete(s, p, user_id, code, utc_now()))
    console.print(translate("cli.loyalty.task_done", task=code, user_id=user_id, points=row.points))


@app.command("tier")
@friendly
def tier(
    user_id: str,
    set_to: str | None = typer.Option(None, "--set", help="Assign this tier by hand."),
    as_json: bool = JSON,
) -> None:
    """Show a member's tier history, or set the tier."""
    if set_to is not None:

        def work(session: Session, program: Program) -> str | None:
            acct = points.open_account(session, user_id, utc_now())
            return tiers.set_tier(session, program, acct, set_to or None, utc_now())

        _write(work)
    rows = _read(lambda s, p: tiers.history(s, user_id))
    data = [
        {
            "at": e.at,
            "kind": e.kind,
            "from": e.from_tier,
            "to": e.to_tier,
            "value": e.qualifying_value,
        }
        for e in rows
    ]
    if as_json:
        emit_json(data)
        return
    table = Table("at", "kind", "from", "to", "qualifying value")
    for d in data:
        table.add_row(*(str(d[k] or "-") for k in ("at", "kind", "from", "to", "value")))
    console.print(table)


@app.command("membership")
@friendly
def grant_membership(
    user_id: str,
    plan: str,
    payment_ref: str = typer.Option(..., "--payment-ref", help="The payment id (idempotency)."),
) -> None:
    """Record a paid membership period."""

    def work(session: Session, program: Program) -> dict[str, Any]:
        membership.activate(session, program, user_id, plan, payment_ref, None, None, utc_now())
        return asdict(membership.status(session, user_id, utc_now()))

    emit_json(_write(work))


@app.command("liability")
@friendly
def show_liability(as_json: bool = JSON) -> None:
    """Outstanding points, their value and expected breakage."""
    found = asdict(_read(lambda s, p: liability.liability(s, p, utc_now())))
    if as_json:
        emit_json(found)
        return
    table = Table("", "", show_header=False, title="points liability")
    for name, value in found.items():
        table.add_row(name, "-" if value is None else str(value))
    console.print(table)


@app.command("run-due")
@friendly
def run_due(at: str | None = typer.Option(None, "--at", help="Pretend it is this time.")) -> None:
    """Confirm pending points, release stale holds, expire lots, remind, review tiers."""
    svc = services()
    result = jobs.run_due(svc.database, svc.settings.zone, parse_iso(at) if at else utc_now())
    console.print(translate("cli.loyalty.jobs_done", None, **result.as_dict()))


@program_app.command("show")
@friendly
def program_show() -> None:
    """Print the live program as JSON (edit it and pass it to `program set`)."""
    version, program = _read(lambda s, p: current_program(s))
    emit_json({"version": version, "config": program.model_dump(mode="json")})


@program_app.command("set")
@friendly
def program_set(
    path: Path = typer.Argument(..., readable=False, help="JSON or TOML; `config` key or the doc."),
    note: str = typer.Option("", "--note", help="Why it changed."),
    expected: int | None = typer.Option(None, "--expected-version", help="Refuse if changed."),
) -> None:
    """Validate and save a new program version."""
    doc = read_document(path)
    if isinstance(doc, dict) and "config" in doc:
        expected = expected if expected is not None else doc.get("version")
        doc = doc["config"]
    before = _read(lambda s, p: current_program(s))[0]
    version, _ = _write(lambda s, p: save_program(s, doc, utc_now(), note, expected))
    key = "cli.loyalty.program_unchanged" if version == before else "cli.loyalty.program_saved"
    console.print(translate(key, version=version))


@program_app.command("versions")
@friendly
def program_versions() -> None:
    """Saved program versions, newest first."""
    table = Table("version", "saved", "note")
    for row in _read(lambda s, p: program_history(s)):
        table.add_row(str(row.version), f"{row.created_at:%Y-%m-%d %H:%M}", row.note)
    console.print(table)


@rewards_app.command("list")
@friendly
def rewards_list() -> None:
    """The catalogue (inactive rewards too)."""
    table = Table("code", "name", "kind", "points", "stock", "active")
    for r in _read(lambda s, p: rewards.catalogue(s, include_inactive=True)):
        table.add_row(r.code, r.name, r.kind, str(r.points_cost), str(r.stock), str(r.active))
    console.print(table)


@rewards_app.command("put")
@friendly
def rewards_put(
    code: str,
    name: str = typer.Option(..., "--name"),
    points_cost: int = typer.Option(..., "--points"),
    kind: str = typer.Option("gift", "--kind", help="gift or coupon."),
    coupon_template: str | None = typer.Option(
        None, "--coupon", help="Promotions coupon offer id; each claim gets its own code."
    ),
    stock: int | None = typer.Option(None, "--stock"),
    inactive: bool = typer.Option(False, "--inactive"),
) -> None:
    """Create or update a reward."""
    if kind not in ("gift", "coupon"):
        raise typer.BadParameter("use gift or coupon", param_hint="--kind")
    _write(
        lambda s, p: rewards.upsert(
            s, code, name, kind, points_cost, utc_now(), coupon_template, stock, not inactive
        )
    )
    console.print(f"{code}: {name} for {points_cost} points")
