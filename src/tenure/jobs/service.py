"""Schedule rules: sync the registry into rows, claim a due job under a lease, record its end."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tenure.jobs import repository
from tenure.jobs.errors import JobRunning, JobUnknown
from tenure.jobs.models import Job, JobRun
from tenure.jobs.registry import JobRegistry


@dataclass(frozen=True)
class Claim:
    """A job this worker holds the lease of, from `started_at`."""

    name: str
    worker: str
    started_at: datetime


def sync(session: Session, registry: JobRegistry, now: datetime) -> int:
    """Add a schedule row, due now, for every registered job that has none; returns how many."""
    known = {job.name for job in repository.all_jobs(session)}
    added = 0
    for spec in registry:
        if spec.name not in known:
            repository.add(
                session,
                Job(
                    name=spec.name,
                    interval_seconds=spec.interval_seconds,
                    enabled=True,
                    next_run_at=now,
                    runs=0,
                ),
            )
            added += 1
    return added


def _take(session: Session, job: Job, worker: str, now: datetime, lease: float) -> Claim | None:
    next_run = now + timedelta(seconds=job.interval_seconds)
    until = now + timedelta(seconds=lease)
    if not repository.take(session, job.name, worker, now, until, next_run):
        return None
    return Claim(job.name, worker, now)


def claim_due(
    session: Session, registry: JobRegistry, worker: str, now: datetime, lease: float
) -> Claim | None:
    """Lease the most overdue registered job that no other worker holds, or None."""
    job = repository.lock_due(session, now)
    if job is None or job.name not in registry.names():
        return None
    return _take(session, job, worker, now, lease)


def claim_named(
    session: Session, registry: JobRegistry, name: str, worker: str, now: datetime, lease: float
) -> Claim:
    """Lease one job now, due or not; JobRunning if another worker holds it."""
    registry.get(name)
    job = repository.lock_named(session, name)
    if job is None:
        raise JobUnknown(name=name, known=", ".join(registry.names()))
    held_until = job.locked_until
    if held_until is not None and held_until > now:
        raise JobRunning(name=name, since=str(job.last_started_at), worker=job.locked_by)
    claim = _take(session, job, worker, now, lease)
    if claim is None:
        raise JobRunning(name=name, since=str(now), worker="another worker")
    return claim


def extend(session: Session, claim: Claim, now: datetime, lease: float) -> bool:
    """Keep holding a running job for another `lease` seconds."""
    return repository.extend(session, claim.name, claim.worker, now + timedelta(seconds=lease))


def finish(
    session: Session, claim: Claim, now: datetime, status: str, result: dict[str, Any] | str
) -> JobRun:
    """Release the lease and append the run to the history."""
    repository.release(session, claim.name, claim.worker, now, status)
    run = JobRun(
        job_name=claim.name,
        worker=claim.worker,
        started_at=claim.started_at,
        finished_at=now,
        seconds=round((now - claim.started_at).total_seconds(), 3),
        status=status,
        result=result if isinstance(result, str) else json.dumps(result, default=str),
    )
    repository.add_run(session, run)
    return run


def set_schedule(
    session: Session,
    registry: JobRegistry,
    name: str,
    *,
    interval_seconds: int | None = None,
    enabled: bool | None = None,
    run_at: datetime | None = None,
) -> Job:
    """Change a job's interval, switch it on or off, or move its next run."""
    registry.get(name)
    job = repository.by_name(session, name)
    if job is None:
        raise JobUnknown(name=name, known=", ".join(registry.names()))
    if interval_seconds is not None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        job.interval_seconds = interval_seconds
    if enabled is not None:
        job.enabled = enabled
    if run_at is not None:
        job.next_run_at = run_at
    session.flush()
    return job


def schedule(session: Session) -> list[dict[str, Any]]:
    """Every job's schedule and last outcome."""
    return [
        {
            "name": job.name,
            "interval_seconds": job.interval_seconds,
            "enabled": job.enabled,
            "next_run_at": job.next_run_at,
            "running_on": job.locked_by,
            "last_started_at": job.last_started_at,
            "last_finished_at": job.last_finished_at,
            "last_status": job.last_status,
            "runs": job.runs,
        }
        for job in repository.all_jobs(session)
    ]
