"""Per-segment retention and value curves pooled from a result's cohort rows (no warehouse)."""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field

from tenure.analytics.retention.query import CohortRow, RetentionResult


class SegmentCurve(BaseModel):
    """One segment's cohorts pooled: at offset p, the cohorts observed p periods on, by size."""

    segment: str | None = Field(description="The breakdown value (None: no breakdown).")
    customers: int = Field(description="Cohort members, summed over the segment's cohorts.")
    cohorts: int
    rate: list[float] = Field(description="Retained / members of the cohorts observed at p.")
    revenue_per_user: list[float] = Field(description="Revenue at p / members observed at p.")
    ltv: list[float] = Field(description="Size-weighted mean cumulative revenue per member.")


def segment_curves(result: RetentionResult) -> list[SegmentCurve]:
    """Each segment's retention and value curve, the largest segment first.

    A cohort counts at offset p only when it was observed that long, so young cohorts never pull
    a late offset down. The LTV point is the size-weighted mean of the cohorts' own cumulative
    revenue per member, as in the report's LTV chart.
    """
    groups: dict[str | None, list[CohortRow]] = defaultdict(list)
    for row in result.cohorts:
        groups[row.segment].append(row)
    curves = [_curve(segment, rows) for segment, rows in groups.items()]
    return sorted(curves, key=lambda c: (-c.customers, c.segment or ""))


def _curve(segment: str | None, rows: list[CohortRow]) -> SegmentCurve:
    width = max((len(r.retained) for r in rows), default=0)
    rate, per_user, ltv = [], [], []
    for p in range(width):
        seen = [r for r in rows if len(r.retained) > p]
        members = sum(r.size for r in seen)
        retained = sum(r.retained[p] for r in seen)
        revenue = sum(r.revenue[p] for r in seen if len(r.revenue) > p)
        lifetime = sum(r.ltv[p] * r.size for r in seen if len(r.ltv) > p)
        rate.append(round(retained / members, 4) if members else 0.0)
        per_user.append(round(revenue / members, 4) if members else 0.0)
        ltv.append(round(lifetime / members, 4) if members else 0.0)
    return SegmentCurve(
        segment=segment,
        customers=sum(r.size for r in rows),
        cohorts=len(rows),
        rate=rate,
        revenue_per_user=per_user,
        ltv=ltv,
    )
