"""Scheduled work of this package, run by `tenure worker` (registered in tenure.jobs.catalog)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenure.segments.lifecycle import LifecycleQuery
from tenure.segments.rfm import RfmQuery
from tenure.segments.runs import refresh_segments, refresh_tags, run_lifecycle, run_rfm

if TYPE_CHECKING:
    from tenure.jobs.registry import JobContext


def refresh_due_segments(ctx: JobContext) -> dict[str, Any]:
    """Refresh every saved segment whose own interval has passed, then the rule-based tags."""
    zone = ctx.settings.timezone
    tags = refresh_tags(ctx.database, ctx.warehouse, zone, None)
    done = refresh_segments(ctx.database, ctx.warehouse, zone, None, None)
    return {
        "segments": {r.key: r.members for r in done},
        "tags": {r.key: r.members for r in tags},
    }


def score_rfm(ctx: JobContext) -> dict[str, Any]:
    """Write every customer's RFM scores (model "rfm") as of the last day with orders."""
    result, written = run_rfm(ctx.warehouse, ctx.settings.timezone, RfmQuery(), save=True)
    return {"as_of": str(result.as_of), "scored": written}


def score_lifecycle(ctx: JobContext) -> dict[str, Any]:
    """Write every customer's stage (model "lifecycle") and record dated stage transitions."""
    run = run_lifecycle(ctx.warehouse, ctx.database, ctx.settings.timezone, LifecycleQuery(), True)
    return {"as_of": str(run.result.as_of), "scored": run.scored, "transitions": run.transitions}
