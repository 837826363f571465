"""Due referral work: settle referrals past the return window, fail groups past the deadline."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.referrals import config, groups, repository, rewards
from tenure.referrals import group_repository as group_repo
from tenure.storage.database import Database

log = logging.getLogger(__name__)
BATCH = 500


def settle_referrals(database: Database, zone: ZoneInfo, now: datetime) -> dict[str, int]:
    """Reward or hold every qualifying referral whose window has closed, one unit of work each."""
    counts = {"rewarded": 0, "held": 0}
    while True:
        due = database.read(lambda s: repository.due_ids(s, now, BATCH))
        for referral_id in due:

            def work(session: Session, referral_id: str = referral_id) -> str | None:
                _, program = config.current_program(session)
                return rewards.settle_due(session, program, referral_id, zone, now)

            outcome = database.write(work)
            if outcome is not None:
                counts[outcome] += 1
        if len(due) < BATCH:
            return counts


def fail_groups(database: Database, now: datetime) -> dict[str, int]:
    """Fail every open group past its deadline and refund its members, one unit of work each."""
    counts = {"groups_failed": 0, "members_refunded": 0}
    while True:
        due = database.read(lambda s: group_repo.due_ids(s, now, BATCH))
        for group_id in due:

            def work(session: Session, group_id: str = group_id) -> int | None:
                return groups.fail_if_due(session, group_id, now)

            refunded = database.write(work)
            if refunded is not None:
                counts["groups_failed"] += 1
                counts["members_refunded"] += refunded
        if len(due) < BATCH:
            return counts


def run_due(database: Database, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """Everything due in referrals and group buying."""
    result: dict[str, Any] = {**settle_referrals(database, zone, now), **fail_groups(database, now)}
    log.info("referrals due work: %s", result)
    return result
