"""Scheduled work of this package, run by `tenure worker` (registered in tenure.jobs.catalog)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from tenure.segments.lifecycle import LifecycleQuery
from tenure.segments.rfm import RfmQuery
from tenure.segments.runs import refresh_segments, refresh_tags, run_lifecycle, run_rfm
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse


def refresh_due_segments(
    database: Database, warehouse: Warehouse, zone: ZoneInfo
) -> dict[str, Any]:
    """Refresh every saved segment whose own interval has passed, then the rule-based tags."""
    tags = refresh_tags(database, warehouse, zone, None)
    done = refresh_segments(database, warehouse, zone, None, None)
    return {
        "segments": {r.key: r.members for r in done},
        "tags": {r.key: r.members for r in tags},
    }


def score_rfm(warehouse: Warehouse, zone: ZoneInfo) -> dict[str, Any]:
    """Write every customer's RFM scores (model "rfm") as of the last day with orders."""
    result, written = run_rfm(warehouse, zone, RfmQuery(), save=True)
    return {"as_of": str(result.as_of), "scored": written}


def score_lifecycle(database: Database, warehouse: Warehouse, zone: ZoneInfo) -> dict[str, Any]:
    """Write every customer's stage (model "lifecycle") and record dated stage transitions."""
    run = run_lifecycle(warehouse, database, zone, LifecycleQuery(), True)
    return {"as_of": str(run.result.as_of), "scored": run.scored, "transitions": run.transitions}
