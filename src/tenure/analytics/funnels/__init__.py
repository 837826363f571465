"""Funnels: ordered, strict and unordered conversion through event steps, as Ibis query runners."""

from tenure.analytics.funnels.modes import (
    RUNNERS,
    OrderedFunnelRunner,
    StrictFunnelRunner,
    UnorderedFunnelRunner,
    funnel_runner,
)
from tenure.analytics.funnels.query import (
    Breakdown,
    DroppedRequest,
    DroppedResult,
    DroppedUser,
    Exclusion,
    FunnelQuery,
    FunnelResult,
    FunnelSegment,
    FunnelStep,
    TimeBucket,
)
from tenure.analytics.funnels.runner import FunnelRunner

__all__ = [
    "RUNNERS",
    "Breakdown",
    "DroppedRequest",
    "DroppedResult",
    "DroppedUser",
    "Exclusion",
    "FunnelQuery",
    "FunnelResult",
    "FunnelRunner",
    "FunnelSegment",
    "FunnelStep",
    "OrderedFunnelRunner",
    "StrictFunnelRunner",
    "TimeBucket",
    "UnorderedFunnelRunner",
    "funnel_runner",
]
