"""Scheduled promotion work: release checkout holds whose time ran out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenure.promotions.service import reservations
from tenure.storage.database import Database

BATCH = 500


def release_expired_holds(database: Database, now: datetime) -> dict[str, Any]:
    """Release every expired hold, a batch per unit of work so checkouts are never held up for
    long; two workers share the rows (skip-locked on PostgreSQL), never release one twice."""
    released = 0
    while True:
        count = database.write(lambda s: reservations.release_expired(s, now, BATCH))
        released += count
        if count < BATCH:
            return {"released": released}
