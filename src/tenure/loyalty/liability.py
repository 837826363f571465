"""Points liability: what members hold, what it is worth, and how much history says will lapse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tenure.loyalty import repository, rules
from tenure.loyalty.program import Program


@dataclass(frozen=True)
class Liability:
    """Outstanding points and their value (minor units of `currency`), net of expected breakage.

    Breakage rate = points expired / (expired + spent + redeemed) over the history window; None
    when nothing has left the program yet (no history to learn from).
    """

    currency: str
    available: int
    pending: int
    reserved: int
    outstanding: int
    value_minor: int
    expiring_30d: int
    expired_window: int
    used_window: int
    breakage_bps: int | None
    expected_breakage_points: int
    expected_cost_minor: int


def liability(session: Session, program: Program, now: datetime) -> Liability:
    """The program-wide liability as of now."""
    totals = repository.bucket_totals(session)
    outstanding = totals.available + totals.pending + totals.reserved
    since = now - timedelta(days=program.breakage_window_days)
    flows = repository.outflow_by_kind(session, since, now)
    expired = flows.get("expire", 0)
    used = flows.get("spend", 0) + flows.get("redeem", 0)
    rate = expired * 10_000 // (expired + used) if expired + used > 0 else None
    # Reserved points are already promised to a checkout: they cannot lapse.
    at_risk = totals.available + totals.pending
    breakage = at_risk * rate // 10_000 if rate is not None else 0
    return Liability(
        currency=program.currency,
        available=totals.available,
        pending=totals.pending,
        reserved=totals.reserved,
        outstanding=outstanding,
        value_minor=rules.points_to_discount(program, outstanding),
        expiring_30d=repository.expiring_between(session, now, now + timedelta(days=30)),
        expired_window=expired,
        used_window=used,
        breakage_bps=rate,
        expected_breakage_points=breakage,
        expected_cost_minor=rules.points_to_discount(program, outstanding - breakage),
    )
