"""`tenure profile USER_ID`: everything Tenure knows about one user."""

from __future__ import annotations

import typer
from rich.table import Table

from tenure.cli.context import console, emit_json, friendly, services
from tenure.profiles.schemas import Amount, Profile
from tenure.profiles.service import build_profile


def _money(amount: Amount | None) -> str:
    if amount is None:
        return "–"
    from tenure.kit.money import Money

    return str(Money(amount.minor, amount.currency))


def _print(p: Profile) -> None:
    head = Table(show_header=False, title=f"User {p.user_id}")
    for name, value in p.attributes.items():
        head.add_row(name, str(value))
    f = p.features
    rows = {
        "first order": f.first_order_at,
        "last order": f.last_order_at,
        "orders": f.orders,
        "revenue": _money(f.revenue),
        "AOV": _money(f.aov),
        "days since last order": f.recency_days,
        "days since first order": f.tenure_days,
        "favourite category": f.favourite_category,
        "first-order channel": f.channel,
    }
    for name, value in rows.items():
        head.add_row(name, "–" if value is None else str(value))
    if p.rfm:
        head.add_row("RFM", f"{p.rfm.get('score')} {p.rfm.get('segment')}")
    if p.lifecycle:
        head.add_row("lifecycle", f"{p.lifecycle.stage} since {p.lifecycle.since}")
    head.add_row("segments", ", ".join(p.segments) or "–")
    head.add_row("tags", ", ".join(p.tags) or "–")
    for model, score in p.scores.items():
        if model not in ("rfm", "lifecycle"):
            head.add_row(f"score {model}", str(score.values))
    console.print(head)
    timeline = Table("time", "kind", "what", "amount", title="Timeline (newest first)")
    for item in p.timeline:
        what = item.name or f"{item.order_id} ({item.status})"
        timeline.add_row(str(item.ts)[:19], item.kind, what, _money(item.amount))
    console.print(timeline)


@friendly
def profile(
    user_id: str = typer.Argument(..., help="The shop's user id."),
    timeline: int = typer.Option(20, help="Timeline items to show."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Attributes, features, scores, RFM, lifecycle, segments, tags and a timeline."""
    svc = services()
    settings = svc.settings
    with svc.warehouse.reader() as con:
        result = svc.database.read(
            lambda s: build_profile(con, s, user_id, settings.zone, settings.currency, timeline)
        )
    if fmt == "json":
        emit_json(result.model_dump(mode="json"))
        return
    _print(result)
