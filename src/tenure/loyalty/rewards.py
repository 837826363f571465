"""The rewards catalogue: gifts and coupons bought with points, with optional stock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tenure.kit.ids import content_hash, new_id
from tenure.loyalty import repository
from tenure.loyalty.errors import PointsInvalid, RewardNotFound, RewardOutOfStock
from tenure.loyalty.ledger import book
from tenure.loyalty.models import Reward, RewardClaim
from tenure.loyalty.points import open_account

# (session, promotions offer id, user id, now) -> the code of one single-use coupon in the user's
# wallet. Promotions builds on loyalty (tiers, points benefits), so loyalty cannot import it: the
# application hands the promotions function in (`app.state.coupon_issuer`).
CouponIssuer = Callable[[Session, str, str, datetime], str]


def upsert(
    session: Session,
    code: str,
    name: str,
    kind: str,
    points_cost: int,
    now: datetime,
    coupon_template: str | None = None,
    stock: int | None = None,
    active: bool = True,
) -> Reward:
    """Create or update a reward."""
    if points_cost <= 0:
        raise PointsInvalid(points=points_cost)
    row = session.get(Reward, code)
    if row is None:
        row = Reward(code=code, created_at=now)
        session.add(row)
    row.name, row.kind, row.points_cost = name, kind, points_cost
    row.coupon_template, row.stock, row.active = coupon_template, stock, active
    session.flush()
    return row


def catalogue(session: Session, include_inactive: bool = False) -> list[Reward]:
    """Rewards by cost."""
    return repository.rewards_by_cost(session, include_inactive)


@dataclass(frozen=True)
class ClaimResult:
    """A claimed reward and whether it was replayed."""

    claim: RewardClaim
    reward: Reward
    replayed: bool


def claim(
    session: Session,
    user_id: str,
    code: str,
    key: str,
    now: datetime,
    issue_coupon: CouponIssuer,
) -> ClaimResult:
    """Spend the reward's points and take one from stock, atomically.

    A coupon reward puts one coupon of its promotions template into the member's wallet through
    `issue_coupon`, in the same unit of work: if promotions refuses, no points move.
    """
    fingerprint = content_hash("reward", user_id, code)
    open_account(session, user_id, now)
    reward = repository.lock_reward(session, code)
    if reward is None or not reward.active:
        raise RewardNotFound(reward=code)
    found = book.replay(session, f"reward:{key}", fingerprint)
    if found is not None:
        return ClaimResult(repository.claim_of_transaction(session, found.id), reward, True)
    if reward.stock is not None and reward.stock <= 0:
        raise RewardOutOfStock(reward=code)
    tx = book.spend(
        session,
        user_id,
        reward.points_cost,
        reason=f"reward:{code}",
        key=f"reward:{key}",
        fingerprint=fingerprint,
        now=now,
    )
    if reward.stock is not None:
        reward.stock -= 1
    coupon = None
    if reward.kind == "coupon" and reward.coupon_template:
        coupon = issue_coupon(session, reward.coupon_template, user_id, now)
    row = RewardClaim(
        id=new_id("clm"),
        reward_code=code,
        user_id=user_id,
        points=reward.points_cost,
        transaction_id=tx.id,
        coupon_code=coupon,
        created_at=now,
    )
    repository.add(session, row)
    return ClaimResult(row, reward, False)
