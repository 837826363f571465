"""The loyalty API other domains call (promotions, checkout). Keep these signatures stable.

Every function takes the caller's session and never commits: the caller's unit of work
(`Database.write`) does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tenure.kit.time import utc_now
from tenure.loyalty import checkout, membership, repository
from tenure.loyalty import points as ledger_points
from tenure.loyalty.checkout import Quote
from tenure.loyalty.errors import PointsInvalid
from tenure.loyalty.models import ExpiryNotice, Redemption, TierEvent
from tenure.loyalty.points import AwardReversal
from tenure.loyalty.program import current_program
from tenure.loyalty.tiers import repository as tier_repository
from tenure.loyalty.tiers import service as tiers

__all__ = [
    "AwardReversal",
    "Benefits",
    "Quote",
    "award_points",
    "confirm_redemption",
    "current_tier",
    "quote_points_discount",
    "redeem_points",
    "release_redemption",
    "reverse_award",
    "tier_benefits",
]


@dataclass(frozen=True)
class Benefits:
    """What a member is entitled to now: tier benefits merged with paid-membership benefits."""

    user_id: str
    tier: str | None
    tier_name: str | None
    multiplier_bps: int
    free_shipping: bool
    exclusive_coupons: tuple[str, ...]
    birthday_gift_points: int
    early_access_hours: int
    membership_plan: str | None
    membership_expires_at: datetime | None


def current_tier(session: Session, user_id: str) -> str | None:
    """The member's tier code, or None for someone with no loyalty account or no tier."""
    account = repository.get_account(session, user_id)
    if account is None:
        return None
    _, program = current_program(session)
    return tiers.effective_tier(program, account.tier)


def tier_benefits(session: Session, user_id: str, now: datetime | None = None) -> Benefits:
    """The member's current benefits (tier plus an active paid membership)."""
    now = now or utc_now()
    _, program = current_program(session)
    tier = program.tier(current_tier(session, user_id))
    plan = membership.active_plan(session, program, user_id, now)
    status = membership.status(session, user_id, now)
    tier_bps = tier.multiplier_bps if tier else 10_000
    plan_bps = plan.multiplier_bps if plan else 10_000
    coupons = [*(tier.exclusive_coupons if tier else []), *(plan.exclusive_coupons if plan else [])]
    return Benefits(
        user_id=user_id,
        tier=tier.code if tier else None,
        tier_name=tier.name if tier else None,
        multiplier_bps=10_000 + (tier_bps - 10_000) + (plan_bps - 10_000),
        free_shipping=bool((tier and tier.free_shipping) or (plan and plan.free_shipping)),
        exclusive_coupons=tuple(dict.fromkeys(coupons)),
        birthday_gift_points=tier.birthday_gift_points if tier else 0,
        early_access_hours=max(
            tier.early_access_hours if tier else 0, plan.early_access_hours if plan else 0
        ),
        membership_plan=status.plan if status.active else None,
        membership_expires_at=status.expires_at if status.active else None,
    )


def quote_points_discount(
    session: Session, user_id: str, order_minor: int, currency: str, points: int | None = None
) -> Quote:
    """The discount `points` would give on this order (None: the most allowed); no side effect."""
    _, program = current_program(session)
    return checkout.quote(session, program, user_id, order_minor, currency, points)


def redeem_points(
    session: Session,
    user_id: str,
    order_minor: int,
    currency: str,
    points: int,
    idempotency_key: str,
    order_id: str | None = None,
    now: datetime | None = None,
) -> Redemption:
    """Reserve exactly `points` for this order's discount (409 errors say why not); replayable."""
    _, program = current_program(session)
    result = checkout.redeem(
        session,
        program,
        user_id,
        order_minor,
        currency,
        points,
        idempotency_key,
        now or utc_now(),
        order_id,
    )
    return result.redemption


def release_redemption(
    session: Session, redemption_id: str, now: datetime | None = None
) -> Redemption:
    """Give the reserved points back (checkout cancelled); repeating is harmless."""
    return checkout.settle(session, redemption_id, release=True, now=now or utc_now())


def confirm_redemption(
    session: Session, redemption_id: str, order_id: str | None = None, now: datetime | None = None
) -> Redemption:
    """Spend the reserved points for good (order placed); repeating is harmless."""
    return checkout.settle(
        session, redemption_id, release=False, now=now or utc_now(), order_id=order_id
    )


def award_points(
    session: Session,
    user_id: str,
    points: int,
    reason: str,
    idempotency_key: str,
    now: datetime | None = None,
) -> int:
    """Give a member points (a referral reward, a campaign bonus); returns the new balance.

    Replays of the same key return the first result; the points expire like any other lot.
    """
    _, program = current_program(session)
    if points <= 0:
        raise PointsInvalid(points=points)
    outcome = ledger_points.adjust(
        session, program, user_id, points, f"award:{reason}", f"award:{idempotency_key}",
        now or utc_now(),
    )  # fmt: skip
    return outcome.transaction.available_after


def reverse_award(
    session: Session,
    idempotency_key: str,
    reversal_key: str,
    reason: str,
    points: int | None = None,
    now: datetime | None = None,
) -> AwardReversal | None:
    """Take back points given by `award_points` under `idempotency_key` (a refund, a clawback).

    `points` is how many of the award's points should stand reversed after this call (None: all
    of it), so proportional partial refunds add up; a replayed `reversal_key` reverses nothing
    more. The balance never goes negative: what the member already spent is reported as
    `shortfall`. None when nothing was awarded under that key.
    """
    return ledger_points.reverse_award(
        session, f"award:{idempotency_key}", f"award:{reversal_key}", points, reason,
        now or utc_now(),
    )  # fmt: skip


def expiry_notices(session: Session, since: datetime | None, limit: int) -> list[ExpiryNotice]:
    """Expiry reminders the points job recorded, oldest first (for campaigns or shop e-mails)."""
    return repository.notices(session, since, limit)


def points_balance(session: Session, user_id: str) -> int:
    """A member's spendable points (0 for someone who is not a member)."""
    return int(repository.balances(session, user_id).available)


def upgrades_after(session: Session, after_id: int, limit: int = 10_000) -> list[TierEvent]:
    """Tier upgrades recorded after a tier-event id, oldest first (for tier-up campaigns)."""
    return tier_repository.events_after(session, after_id, "upgrade", limit)


def last_tier_event(session: Session) -> int:
    """The id of the newest tier event (a starting point for `upgrades_after`)."""
    return tier_repository.last_event_id(session)


def members_of(session: Session, user_ids: Sequence[str]) -> dict[str, tuple[int, str | None]]:
    """(spendable points, tier code) of each user, for many users at once (campaign messages);
    someone who is not a member reads (0, None)."""
    points = repository.available_of(session, user_ids)
    stored = repository.tiers_of(session, user_ids)
    _, program = current_program(session)
    return {
        u: (points.get(u, 0), tiers.effective_tier(program, stored[u]) if u in stored else None)
        for u in user_ids
    }


def points_spent(
    session: Session, since: datetime, until: datetime
) -> list[tuple[str, datetime, int]]:
    """(user, when, points) of the points members spent or redeemed at checkout in a window
    (what an experiment's `points_redeemed` metric sums per user)."""
    return repository.points_spent_between(session, since, until)


def points_value(session: Session, points: int) -> tuple[int, str]:
    """What `points` are worth when redeemed, in minor units of the program's currency."""
    _, program = current_program(session)
    return points * program.scale // program.redeem_points_per_unit, program.currency
