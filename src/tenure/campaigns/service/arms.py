"""A campaign's arms as the units of an experiment: who was treated, who was held out, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tenure.campaigns import repository
from tenure.campaigns.service import campaigns

ARMS = {"treatment": True, "holdout": False}


@dataclass(frozen=True)
class ArmUnits:
    """Each user's first entry into the treatment or holdout arm: (user_id, treated, entered_at).

    Entries in the global control group are left out: they were not assigned by the campaign.
    """

    key: str
    attribution_days: int
    units: list[tuple[str, bool, datetime]]


def treatment_and_holdout(session: Session, key: str) -> ArmUnits:
    """The campaign's treated and held-out users; an unknown key is `CampaignNotFound`."""
    _, campaign = campaigns.get(session, key)
    first: dict[str, tuple[str, bool, datetime]] = {}
    for user_id, arm, entered_at in sorted(repository.entries(session, key), key=lambda e: e[2]):
        if arm in ARMS and user_id not in first:
            first[user_id] = (user_id, ARMS[arm], entered_at)
    return ArmUnits(key, campaign.attribution_days, sorted(first.values()))
