"""Job errors."""

from __future__ import annotations

from tenure.errors import Conflict, NotFound


class JobUnknown(NotFound):
    """No job registered under that name."""

    code = "job_unknown"


class JobRunning(Conflict):
    """Another worker holds the job's lease."""

    code = "job_running"
