"""All queries on jobs and job_runs; claiming is a row lock or a compare-and-set update."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from tenure.jobs.models import Job, JobRun


def all_jobs(session: Session) -> list[Job]:
    """Every schedule row, by name."""
    return list(session.scalars(select(Job).order_by(Job.name)))


def by_name(session: Session, name: str) -> Job | None:
    """One schedule row."""
    return session.get(Job, name)


def add(session: Session, job: Job) -> None:
    """Stage a new schedule row."""
    session.add(job)
    session.flush()


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(Job.locked_until.is_(None), Job.locked_until <= now)


def lock_due(session: Session, now: datetime) -> Job | None:
    """The most overdue free job, row-locked; PostgreSQL skips rows other workers hold.

    `FOR UPDATE SKIP LOCKED` renders on PostgreSQL; SQLite has one writer at a time and the
    caller holds the process's write lock, with `take` re-checking the row.
    """
    stmt = (
        select(Job)
        .where(Job.enabled.is_(True), Job.next_run_at <= now, _free(now))
        .order_by(Job.next_run_at, Job.name)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(stmt).first()


def lock_named(session: Session, name: str) -> Job | None:
    """One job's row, locked (waits for another transaction that holds it)."""
    return session.scalars(select(Job).where(Job.name == name).with_for_update()).first()


def take(
    session: Session, name: str, worker: str, now: datetime, until: datetime, next_run: datetime
) -> bool:
    """Set the lease if the job is still free; False when another worker got there first."""
    result = session.execute(
        update(Job)
        .where(Job.name == name, _free(now))
        .values(
            locked_by=worker,
            locked_until=until,
            last_started_at=now,
            last_status="running",
            next_run_at=next_run,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def extend(session: Session, name: str, worker: str, until: datetime) -> bool:
    """Push the lease end of a job this worker holds."""
    result = session.execute(
        update(Job)
        .where(Job.name == name, Job.locked_by == worker)
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def release(session: Session, name: str, worker: str, now: datetime, status: str) -> None:
    """Drop this worker's lease and record how the run ended."""
    session.execute(
        update(Job)
        .where(Job.name == name, Job.locked_by == worker)
        .values(
            locked_by=None,
            locked_until=None,
            last_finished_at=now,
            last_status=status,
            runs=Job.runs + 1,
        )
        .execution_options(synchronize_session=False)
    )


def add_run(session: Session, run: JobRun) -> None:
    """Append to the run history."""
    session.add(run)
    session.flush()


def recent_runs(session: Session, name: str | None = None, limit: int = 20) -> list[JobRun]:
    """The newest runs, of one job or of all."""
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if name is not None:
        stmt = stmt.where(JobRun.job_name == name)
    return list(session.scalars(stmt))
