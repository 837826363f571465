"""Paths: sessions split by inactivity, top paths around a start event, Sankey transitions."""

from tenure.analytics.paths.query import PathRow, PathsQuery, PathsResult, Transition
from tenure.analytics.paths.runner import (
    RUNNERS,
    PathsAfterRunner,
    PathsBeforeRunner,
    PathsRunner,
    paths_runner,
)

__all__ = [
    "RUNNERS",
    "PathRow",
    "PathsAfterRunner",
    "PathsBeforeRunner",
    "PathsQuery",
    "PathsResult",
    "PathsRunner",
    "Transition",
    "paths_runner",
]
