"""One-off tasks (complete profile, first review, invite a friend) that award points once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tenure.kit.ids import content_hash
from tenure.loyalty import repository
from tenure.loyalty.errors import TaskAlreadyCompleted, TaskUnknown
from tenure.loyalty.ledger import book
from tenure.loyalty.models import TaskCompletion
from tenure.loyalty.points import expiry_for, open_account
from tenure.loyalty.program import Program

KEY_LENGTH = 250  # loyalty_transactions.idempotency_key


@dataclass(frozen=True)
class TaskState:
    """A task as the member sees it."""

    code: str
    title: str
    points: int
    completed_at: datetime | None


def _done(session: Session, user_id: str) -> dict[str, TaskCompletion]:
    return repository.task_completions(session, user_id)


def list_tasks(session: Session, program: Program, user_id: str) -> list[TaskState]:
    """Every task of the program with the member's completion."""
    done = _done(session, user_id)
    return [
        TaskState(code, task.title, task.points, done[code].completed_at if code in done else None)
        for code, task in program.tasks.items()
    ]


def complete(
    session: Session, program: Program, user_id: str, task: str, now: datetime
) -> TaskCompletion:
    """Mark a task done and award its points; a second completion is a 409."""
    rule = program.tasks.get(task)
    if rule is None:
        raise TaskUnknown(task=task, known=", ".join(sorted(program.tasks)))
    open_account(session, user_id, now)
    found = _done(session, user_id).get(task)
    if found is not None:
        raise TaskAlreadyCompleted(task=task, completed_at=found.completed_at.isoformat())
    key = f"task:{user_id}:{task}"
    if len(key) > KEY_LENGTH:  # a long user id and task name: keep the key inside its column
        key = f"task:{content_hash(user_id, task)}"
    tx = None
    if rule.points > 0:
        tx = book.earn(
            session,
            user_id,
            rule.points,
            reason=f"task:{task}",
            key=key,
            fingerprint=key,
            now=now,
            expires_at=expiry_for(program, now),
        )
    row = TaskCompletion(
        user_id=user_id,
        task=task,
        points=rule.points,
        transaction_id=tx.id if tx else None,
        completed_at=now,
    )
    repository.add(session, row)
    return row
