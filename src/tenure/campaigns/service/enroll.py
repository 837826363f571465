"""Entering users into a campaign: re-entry rules, then treatment, holdout or global control.

The arms are decided by hashing (kit/buckets.py, GrowthBook's hash), so a user is in the global
control group for every campaign alike and in the same holdout of a campaign every time they
enter it; held-out users go through the same journey and are recorded as "would have received".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
from sqlalchemy.orm import Session

from tenure.campaigns import repository
from tenure.campaigns.policy import CONTROL_SEED
from tenure.campaigns.service.opening import open_journeys
from tenure.campaigns.spec import Campaign
from tenure.kit.buckets import bucket_array

ARMS = ("treatment", "holdout", "control")


@dataclass(frozen=True)
class Entered:
    """What one enrolment run did."""

    entered: int
    not_again: int  # already in the journey, or re-entry not allowed yet
    arms: dict[str, int]


def arms(campaign: Campaign, user_ids: Sequence[str], control_share: float) -> list[str]:
    """Each user's arm: control (shop-wide), holdout (this campaign) or treatment."""
    if not user_ids:
        return []
    out = np.full(len(user_ids), "treatment", dtype=object)
    holdout = bucket_array(f"campaign:{campaign.key}:holdout", list(user_ids)) < campaign.holdout
    out[holdout] = "holdout"
    if campaign.global_control and control_share > 0:
        control = bucket_array(CONTROL_SEED, list(user_ids)) < control_share
        out[control] = "control"
    return [str(a) for a in out]


class Arrival(NamedTuple):
    """A user arriving at a campaign: why (the source, unique per user and campaign) and when
    their first step is due."""

    user_id: str
    source: str
    start_at: datetime


def admissible(
    session: Session, campaign: Campaign, arrivals: Sequence[Arrival], now: datetime
) -> tuple[list[Arrival], dict[str, int]]:
    """The arrivals that may enter now, and the entry number each user gets.

    One entry per user per run; a user already in the journey, one whose re-entry time has not
    come, and one already entered for the same source are left out.
    """
    history = repository.entry_history(session, campaign.key, [a.user_id for a in arrivals])
    active, last, seen = history.active, history.last, history.sources
    after = campaign.reentry.after_days
    allowed: list[Arrival] = []
    numbers: dict[str, int] = {}
    for arrival in arrivals:
        user = arrival.user_id
        if user in numbers or user in active or (user, arrival.source) in seen:
            continue
        previous = last.get(user)
        if previous is not None and (after is None or now - previous[1] < timedelta(days=after)):
            continue
        allowed.append(arrival)
        numbers[user] = 1 if previous is None else previous[0] + 1
    return allowed, numbers


def enroll(
    session: Session,
    campaign: Campaign,
    version: int,
    arrivals: Sequence[Arrival],
    now: datetime,
    control_share: float,
) -> Entered:
    """Enter the users who may enter, in bulk; their first step runs when their start is due."""
    allowed, numbers = admissible(session, campaign, arrivals, now)
    assigned = arms(campaign, [a.user_id for a in allowed], control_share)
    first = campaign.steps[0].id
    rows = [
        {
            "campaign_key": campaign.key,
            "version": version,
            "user_id": arrival.user_id,
            "entry_no": numbers[arrival.user_id],
            "source": arrival.source[:200],
            "arm": arm,
            "state": "active",
            "step_id": first,
            "next_at": arrival.start_at,
            "entered_at": now,
            "finished_at": None,
            "reason": None,
            "coupon_code": None,
        }
        for arrival, arm in zip(allowed, assigned, strict=True)
    ]
    open_journeys(session, campaign, rows, now)
    counts = {arm: assigned.count(arm) for arm in ARMS}
    users = len({a.user_id for a in arrivals})
    return Entered(entered=len(rows), not_again=users - len(rows), arms=counts)
