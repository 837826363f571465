"""`tenure profile USER_ID`: everything Tenure knows about one user, in words an operator reads.

Each figure says what it is measured against: RFM is relative (quintiles among all customers),
the lifecycle stage uses absolute thresholds, churn is about the next N days and P(alive) about
ever buying again, so two of them may seem to disagree; the lines say why they may."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from tenure.cli.context import console, emit_json, friendly, services
from tenure.i18n import translate
from tenure.kit.money import Money
from tenure.profiles.schemas import Amount, Profile
from tenure.profiles.service import build_profile


def _money(amount: Amount | None) -> str:
    return "–" if amount is None else str(Money(amount.minor, amount.currency))


def _text(value: Any, zone: ZoneInfo) -> str:
    """A value as an operator reads it: no None, nan, microseconds or UTC offsets."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return translate("cli.profile.yes") if value else translate("cli.profile.no")
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and len(value) > 19 and value[4] == "-" and value[10] in "T ":
        try:
            return _text(datetime.fromisoformat(value), zone)
        except ValueError:
            return value
    return str(value)


def _rfm(rfm: dict[str, Any], version: str) -> str:
    line = translate(
        "cli.profile.rfm",
        score=rfm.get("score"),
        segment=rfm.get("segment"),
        r=rfm.get("r"),
        f=rfm.get("f"),
        m=rfm.get("m"),
        as_of=version,
    )
    if rfm.get("recency_days") is not None:
        line += " " + translate("cli.profile.rfm_recency", recency=rfm["recency_days"])
    return line


def _lifecycle(p: Profile) -> str:
    assert p.lifecycle is not None
    thresholds = p.scores["lifecycle"].values if "lifecycle" in p.scores else {}
    at_risk = thresholds.get("at_risk_days")
    line = translate("cli.profile.lifecycle", stage=p.lifecycle.stage, since=p.lifecycle.since)
    if at_risk is not None and p.features.recency_days is not None:
        line += " " + translate(
            "cli.profile.lifecycle_rule",
            at_risk=at_risk,
            churned=thresholds.get("churn_days"),
            recency=p.features.recency_days,
        )
    return line


def _drivers(drivers: list[dict[str, Any]]) -> str:
    parts = []
    for d in drivers:
        value = d.get("value")
        shown = f"{value:g}" if isinstance(value, float) else _text(value, ZoneInfo("UTC"))
        way = "cli.profile.raises" if float(d.get("effect") or 0) > 0 else "cli.profile.lowers"
        parts.append(f"{d.get('feature')} = {shown} ({translate(way)})")
    return "; ".join(parts) or "–"


def _p_alive(value: float, orders: int) -> str:
    # BG/NBD cannot see a dropout before a repeat purchase: P(alive) is 1 by construction.
    key = "cli.profile.p_alive_one_time" if orders <= 1 else "cli.profile.p_alive"
    return translate(key, p=f"{value:.2f}")


def _score_rows(p: Profile) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    churn = p.scores.get("churn")
    if churn:
        v = churn.values
        rows.append(
            (
                translate("cli.profile.churn"),
                translate(
                    "cli.profile.churn_value",
                    percent=f"{100 * float(v.get('churn_probability', 0)):.1f}",
                    horizon=v.get("horizon_days"),
                    as_of=v.get("as_of"),
                ),
            )
        )
        rows.append((translate("cli.profile.drivers"), _drivers(v.get("drivers") or [])))
        next_order = v.get("next_order_date")
        rows.append(
            (
                translate("cli.profile.next_order"),
                translate("cli.profile.next_order_none")
                if not next_order
                else translate("cli.profile.next_order_around", day=next_order),
            )
        )
    clv = p.scores.get("clv")
    if clv:
        v = clv.values
        rows.append(
            (
                translate("cli.profile.clv"),
                translate(
                    "cli.profile.clv_value",
                    clv=Money(int(v.get("clv_minor") or 0), str(v.get("currency"))),
                    months=v.get("clv_months"),
                    d30=f"{float(v.get('expected_orders_30d') or 0):.2f}",
                    d90=f"{float(v.get('expected_orders_90d') or 0):.2f}",
                ),
            )
        )
    source = churn or clv
    alive = source.values.get("p_alive") if source else None
    if isinstance(alive, (int, float)) and not math.isnan(alive):
        rows.append((translate("cli.profile.alive"), _p_alive(float(alive), p.features.orders)))
    for model, score in p.scores.items():
        if model not in ("rfm", "lifecycle", "churn", "clv"):
            rows.append(
                (
                    model,
                    ", ".join(f"{k} {_text(x, ZoneInfo('UTC'))}" for k, x in score.values.items()),
                )
            )
    return rows


def _print(p: Profile, zone: ZoneInfo) -> None:
    head = Table(show_header=False, title=translate("cli.profile.title", user=p.user_id))
    for name, value in p.attributes.items():
        head.add_row(name, _text(value, zone))
    f = p.features
    rows = {
        "cli.profile.first_order": _text(f.first_order_at, zone),
        "cli.profile.last_order": _text(f.last_order_at, zone),
        "cli.profile.orders": str(f.orders),
        "cli.profile.revenue": _money(f.revenue),
        "cli.profile.aov": _money(f.aov),
        "cli.profile.recency": _text(f.recency_days, zone),
        "cli.profile.tenure": _text(f.tenure_days, zone),
        "cli.profile.category": _text(f.favourite_category, zone),
        "cli.profile.channel": _text(f.channel, zone),
    }
    for key, value in rows.items():
        head.add_row(translate(key), value)
    if p.rfm:
        version = p.scores["rfm"].version if "rfm" in p.scores else "–"
        head.add_row("RFM", _rfm(p.rfm, version))
    if p.lifecycle:
        head.add_row(translate("cli.profile.stage"), _lifecycle(p))
    head.add_row(translate("cli.profile.segments"), ", ".join(p.segments) or "–")
    head.add_row(translate("cli.profile.tags"), ", ".join(p.tags) or "–")
    for name, value in _score_rows(p):
        head.add_row(name, value)
    console.print(head)
    timeline = Table(
        translate("cli.profile.col.time"),
        translate("cli.profile.col.kind"),
        translate("cli.profile.col.what"),
        translate("cli.profile.col.amount"),
        title=translate("cli.profile.timeline"),
    )
    for item in p.timeline:
        what = item.name or f"{item.order_id} ({item.status})"
        timeline.add_row(_text(item.ts, zone), item.kind, what, _money(item.amount))
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
    _print(result, settings.zone)
