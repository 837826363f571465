"""Paid membership: stacked paid periods, its own benefits, cancel without refund until expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tenure.kit.ids import new_id
from tenure.loyalty import repository
from tenure.loyalty.errors import (
    CurrencyMismatch,
    IdempotencyKeyReused,
    MembershipNotActive,
    PlanUnknown,
)
from tenure.loyalty.models import Membership
from tenure.loyalty.program import Plan, Program


@dataclass(frozen=True)
class Status:
    """A member's subscription: plan, whether it renews, and until when it is paid."""

    plan: str | None
    active: bool
    expires_at: datetime | None
    cancelled: bool


def _periods(session: Session, user_id: str, now: datetime) -> list[Membership]:
    return repository.memberships_until(session, user_id, now)


def status(session: Session, user_id: str, now: datetime) -> Status:
    """The current or next paid period's plan and the end of the last paid period."""
    periods = _periods(session, user_id, now)
    current = [p for p in periods if p.starts_at <= now]
    if not periods:
        return Status(None, False, None, False)
    head = current[-1] if current else periods[0]
    return Status(
        head.plan,
        bool(current),
        periods[-1].expires_at,
        any(p.cancelled_at is not None for p in periods),
    )


def active_plan(session: Session, program: Program, user_id: str, now: datetime) -> Plan | None:
    """The plan whose benefits apply now (None when not a paying member)."""
    found = status(session, user_id, now)
    return program.plans.get(found.plan or "") if found.active else None


def activate(
    session: Session,
    program: Program,
    user_id: str,
    plan_code: str,
    payment_ref: str,
    price_minor: int | None,
    currency: str | None,
    now: datetime,
) -> Membership:
    """Record a paid period (idempotent by the payment reference); it starts when the last ends."""
    plan = program.plans.get(plan_code)
    if plan is None:
        raise PlanUnknown(plan=plan_code, known=", ".join(sorted(program.plans)) or "-")
    currency = (currency or program.currency).upper()
    if currency != program.currency:
        raise CurrencyMismatch(currency=currency, expected=program.currency)
    found = repository.membership_by_payment(session, payment_ref)
    if found is not None:
        if (found.user_id, found.plan) != (user_id, plan_code):
            raise IdempotencyKeyReused(idempotency_key=payment_ref)
        return found
    periods = _periods(session, user_id, now)
    starts = max([now, *(p.expires_at for p in periods)])
    row = Membership(
        id=new_id("mem"),
        user_id=user_id,
        plan=plan_code,
        payment_ref=payment_ref,
        price_minor=plan.price_minor if price_minor is None else price_minor,
        currency=currency,
        starts_at=starts,
        expires_at=starts + timedelta(days=plan.period_days),
    )
    repository.add(session, row)
    return row


def cancel(session: Session, user_id: str, now: datetime) -> Status:
    """Stop renewing: paid periods stay usable until they end (the shop stops billing)."""
    periods = _periods(session, user_id, now)
    if not periods:
        raise MembershipNotActive(user_id=user_id)
    for period in periods:
        if period.cancelled_at is None:
            period.cancelled_at = now
    session.flush()
    return status(session, user_id, now)
