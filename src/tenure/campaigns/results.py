"""What a campaign did: reach, delivery and engagement per step, and its incremental effect.

Every entry is followed for the campaign's attribution window: did the user pay for an order,
and how much did they spend (one currency: the shop's main one, `analytics/currency.py`).
Treatment is compared with the campaign's holdout, and with the shop's global control group,
as a difference of means with a Welch 95 % interval. Held-out users went through the same
entry logic, so the comparison is between like groups.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import numpy as np
import pandas as pd
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tenure.analytics.currency import currency_scope
from tenure.campaigns import repository
from tenure.campaigns.service import campaigns as docs
from tenure.experiments.stats.frequentist import ttest
from tenure.experiments.stats.summaries import SampleMean
from tenure.kit.money import exponent
from tenure.loyalty.service import points_value
from tenure.promotions.coupons.service import redeemed_value
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

ENGAGEMENT = ("opened", "clicked", "unsubscribed")
METRICS = {"converted": "conversion", "orders": "orders_per_user", "revenue": "revenue_per_user"}
OUTBOX = ("queued", "leased", "sent", "failed", "dead", "dropped", "skipped")


class ArmResult(BaseModel):
    """One arm's outcome over the attribution window."""

    arm: str
    users: int
    converted: int
    conversion_rate: float | None
    orders: int
    orders_per_user: float | None
    revenue: float
    revenue_per_user: float | None


class Lift(BaseModel):
    """Treatment minus a comparison arm, per user, with a Welch 95 % interval."""

    against: str
    metric: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    reason: str | None = None  # why it could not be computed


class StepResult(BaseModel):
    """A step's messages by status, and the users who engaged."""

    step_id: str
    messages: dict[str, int]
    skipped: int  # users not sent to: no address, no consent, suppressed, opted out
    held_out: int
    engaged: dict[str, int]


class Costs(BaseModel):
    """What the campaign gave away, and its return against the incremental revenue."""

    coupons_given: int
    coupons_used: int
    coupon_discount: float  # major units of `currency`
    points_granted: int
    points_value: float  # what the points are worth when redeemed, major units
    currency: str | None
    roi: float | None  # (incremental revenue − cost) / cost, when both are in one currency
    reason: str | None = None  # why there is no ROI


class CampaignResults(BaseModel):
    """The campaign's results."""

    key: str
    status: str
    attribution_days: int
    currency: str | None
    arms: list[ArmResult]
    lifts: list[Lift]
    incremental_conversions: float | None  # treated users × conversion-rate lift over holdout
    incremental_orders: float | None
    incremental_revenue: float | None
    costs: Costs
    steps: list[StepResult]


def welch(a: np.ndarray, b: np.ndarray, against: str, metric: str) -> Lift:
    """mean(a) − mean(b), its 95 % interval and two-sided p-value: the experiments' Welch test
    (`tenure.experiments.stats.frequentist.ttest`, on absolute differences), so a campaign's
    holdout is read exactly as an A/B experiment is."""
    if len(a) < 2 or len(b) < 2:
        return Lift(against=against, metric=metric, difference=None, ci_low=None, ci_high=None,
                    p_value=None, reason="fewer than 2 users in an arm")  # fmt: skip
    treated = SampleMean(len(a), float(a.sum()), float(np.square(a).sum()))
    compared = SampleMean(len(b), float(b.sum()), float(np.square(b).sum()))
    test = ttest(compared, treated, alpha=0.05, relative=False)
    if test.reason is not None:
        diff = float(a.mean() - b.mean())
        return Lift(against=against, metric=metric, difference=diff, ci_low=diff, ci_high=diff,
                    p_value=None, reason=test.reason.replace("_", " "))  # fmt: skip
    return Lift(against=against, metric=metric, difference=test.estimate, ci_low=test.ci_low,
                ci_high=test.ci_high, p_value=test.p_value)  # fmt: skip


def outcomes(
    warehouse: Warehouse, entries: list[tuple[str, str, datetime]], days: int
) -> tuple[pd.DataFrame, str | None]:
    """Per entry: arm, converted (0/1) and revenue within `days` of entering."""
    frame = pd.DataFrame(entries, columns=["user_id", "arm", "entered_at"])
    if frame.empty:
        return frame.assign(converted=0, orders=0.0, revenue=0.0), None
    frame["entered_at"] = pd.to_datetime(frame["entered_at"], utc=True)
    frame["until"] = frame["entered_at"] + timedelta(days=days)
    with warehouse.reader() as con:
        scope = currency_scope(con, None)
        orders = con.table("orders")
        keep = orders.status == "paid"
        if scope.currency is not None:
            keep = keep & (orders.currency == scope.currency)
        users = ibis.memtable(frame[["user_id"]].drop_duplicates(), schema={"user_id": "string"})
        paid = (
            orders.filter(keep, orders.ts >= frame["entered_at"].min().to_pydatetime())
            .semi_join(users, "user_id")
            .select("user_id", "ts", "amount")
            .execute()
        )
    paid["ts"] = pd.to_datetime(paid["ts"], utc=True)
    paid["amount"] = paid["amount"].astype(float)
    joined = frame.reset_index().merge(paid, on="user_id", how="left")
    inside = (joined["ts"] >= joined["entered_at"]) & (joined["ts"] < joined["until"])
    joined["amount"] = joined["amount"].where(inside, 0.0).fillna(0.0)
    joined["hit"] = inside.astype(int)
    per = joined.groupby("index").agg(revenue=("amount", "sum"), orders=("hit", "sum"))
    frame["revenue"] = per["revenue"].reindex(frame.index).fillna(0.0)
    frame["orders"] = per["orders"].reindex(frame.index).fillna(0).astype(float)
    frame["converted"] = (frame["orders"] > 0).astype(int)
    return frame, scope.currency


def _arm(frame: pd.DataFrame, arm: str) -> ArmResult:
    part = frame[frame.arm == arm]
    n = len(part)
    return ArmResult(
        arm=arm, users=n, converted=int(part.converted.sum()),
        conversion_rate=float(part.converted.mean()) if n else None,
        orders=int(part.orders.sum()), orders_per_user=float(part.orders.mean()) if n else None,
        revenue=float(part.revenue.sum()),
        revenue_per_user=float(part.revenue.mean()) if n else None,
    )  # fmt: skip


def results(database: Database, warehouse: Warehouse, key: str, now: datetime) -> CampaignResults:
    """The campaign's results as of now (entries still inside their window count so far)."""
    row, campaign = database.read(lambda s: docs.get(s, key))
    entries = database.read(lambda s: repository.entries(s, key))
    messages = database.read(lambda s: repository.message_counts(s, key))
    decisions = database.read(lambda s: repository.decision_counts(s, key))
    frame, currency = outcomes(warehouse, entries, campaign.attribution_days)
    arms = [_arm(frame, arm) for arm in ("treatment", "holdout", "control")]
    lifts: list[Lift] = []
    treated = frame[frame.arm == "treatment"]
    for against in ("holdout", "control"):
        other = frame[frame.arm == against]
        if other.empty:
            continue
        for column, metric in METRICS.items():
            a, b = treated[column].to_numpy(float), other[column].to_numpy(float)
            lifts.append(welch(a, b, against, metric))
    by = {(lift.against, lift.metric): lift.difference for lift in lifts}
    conv, rev = by.get(("holdout", "conversion")), by.get(("holdout", "revenue_per_user"))
    per_user = by.get(("holdout", "orders_per_user"))
    steps = [
        StepResult(
            step_id=step.id,
            messages={s: messages.get((step.id, s), 0) for s in OUTBOX},
            skipped=decisions.get((step.id, "skipped"), 0),
            held_out=decisions.get((step.id, "held_out"), 0),
            engaged={a: decisions.get((step.id, a), 0) for a in ENGAGEMENT},
        )
        for step in campaign.steps
        if step.type in ("send", "webhook")
    ]
    incremental = None if rev is None else rev * len(treated)
    costs = database.read(lambda s: _costs(s, key, currency, incremental))
    return CampaignResults(
        key=key, status=row.status, attribution_days=campaign.attribution_days,
        currency=currency, arms=arms, lifts=lifts,
        incremental_conversions=None if conv is None else conv * len(treated),
        incremental_orders=None if per_user is None else per_user * len(treated),
        incremental_revenue=incremental, costs=costs, steps=steps,
    )  # fmt: skip


def _costs(session: Session, key: str, currency: str | None, incremental: float | None) -> Costs:
    codes, points = repository.rewards_given(session, key)
    used = redeemed_value(session, codes)
    value_minor, points_currency = points_value(session, points)
    spent = {c: v for c, _, v in used}
    if points:
        spent[points_currency] = spent.get(points_currency, 0) + value_minor
    in_one = currency is not None and set(spent) <= {currency}
    cost = sum(spent.values()) / 10 ** exponent(currency) if in_one and currency else None
    roi, reason = None, None
    if incremental is None:
        reason = "no holdout to measure the incremental revenue against"
    elif not in_one:
        reason = "costs and revenue are in different currencies"
    elif not cost:
        reason = "nothing was given away"
    else:
        roi = (incremental - cost) / cost
    scale = 10 ** exponent(currency) if currency else 100
    return Costs(
        coupons_given=len(codes), coupons_used=sum(n for _, n, _ in used),
        coupon_discount=sum(v for _, _, v in used) / scale, points_granted=points,
        points_value=value_minor / scale if points else 0.0, currency=currency, roi=roi,
        reason=reason,
    )  # fmt: skip
