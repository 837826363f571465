"""Saving experiments and moving them through draft → running → stopped.

While an experiment runs, its variants may gain weight or new arms and its traffic and
targeting may change, but its seed, hash version, namespace and existing variants stay:
changing them would move units between variants mid-test. Weight changes go through
`allocation.reweight`, so only the units the new weights force to move do. A change of
weights, traffic or targeting starts a new *phase*: results read the current phase's
exposures, whose split matches the weights the SRM check expects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tenure.experiments import allocation, repository
from tenure.experiments.errors import (
    ExperimentExists,
    ExperimentInvalid,
    ExperimentNotFound,
    ExperimentStateConflict,
    ExperimentVersionConflict,
    NamespaceOverlap,
)
from tenure.experiments.models import ExperimentRow
from tenure.experiments.spec import Experiment, parse
from tenure.segments.errors import SegmentNotFound
from tenure.segments.service import get_segment

FROZEN_WHILE_RUNNING = ("seed", "hash_version", "namespace")


def spec_of(row: ExperimentRow) -> Experiment:
    """The row's document as a checked `Experiment`."""
    return Experiment.model_validate(row.document)


def owned(row: ExperimentRow) -> allocation.Allocation:
    """The row's bucket allocation."""
    return [[(float(s), float(e)) for s, e in intervals] for intervals in row.allocation]


def _stored(allocated: allocation.Allocation) -> list[list[list[float]]]:
    return [[[s, e] for s, e in intervals] for intervals in allocated]


def _dump(experiment: Experiment) -> dict[str, Any]:
    return experiment.model_dump(mode="json", exclude_none=True)


def validate(session: Session, document: Any) -> Experiment:
    """The checked document, with its segment looked up."""
    experiment = parse(document)
    segment = experiment.targeting.segment
    if segment is not None:
        try:
            get_segment(session, segment)
        except SegmentNotFound:
            raise ExperimentInvalid(
                path="$.targeting.segment", reason=f"no segment `{segment}`"
            ) from None
    return experiment


def row(session: Session, key: str, *, lock: bool = False) -> ExperimentRow:
    """The experiment's row, or ExperimentNotFound."""
    found = repository.experiment(session, key, lock=lock)
    if found is None:
        raise ExperimentNotFound(key=key)
    return found


def create(session: Session, document: Any, now: datetime) -> ExperimentRow:
    """Save a new experiment as a draft."""
    experiment = validate(session, document)
    if repository.experiment(session, experiment.key) is not None:
        raise ExperimentExists(key=experiment.key)
    weights = [v.weight for v in experiment.variants]
    created = ExperimentRow(
        key=experiment.key, name=experiment.name, status="draft", version=1,
        document=_dump(experiment), allocation=_stored(allocation.initial(weights)),
        namespace=experiment.namespace.name if experiment.namespace else None,
        created_at=now, updated_at=now, started_at=None, stopped_at=None, phase=1,
        phase_started_at=None,
    )  # fmt: skip
    repository.add(session, created)
    return created


def _running_change(before: Experiment, after: Experiment) -> None:
    for field in FROZEN_WHILE_RUNNING:
        if getattr(before, field) != getattr(after, field):
            raise ExperimentStateConflict(key=before.key, state="running", action=f"change {field}")
    old = [v.key for v in before.variants]
    if [v.key for v in after.variants][: len(old)] != old:
        raise ExperimentStateConflict(
            key=before.key, state="running", action="remove or reorder variants"
        )


def update(
    session: Session, key: str, document: Any, now: datetime, expected: int | None = None
) -> ExperimentRow:
    """Save a new version of the document (see the module's rules while running)."""
    current = row(session, key, lock=True)
    if expected is not None and expected != current.version:
        raise ExperimentVersionConflict(key=key, current=current.version, expected=expected)
    if current.status == "stopped":
        raise ExperimentStateConflict(key=key, state=current.status, action="update")
    experiment = validate(session, document)
    if experiment.key != key:
        raise ExperimentInvalid(path="$.key", reason=f"the key is `{key}` and cannot change")
    weights = [v.weight for v in experiment.variants]
    if current.status == "running":
        before = spec_of(current)
        _running_change(before, experiment)
        current.allocation = _stored(allocation.reweight(owned(current), weights))
        _check_namespace(session, experiment, exclude=key)
        if _split_changed(before, experiment):
            current.phase += 1
            current.phase_started_at = now
    else:
        current.allocation = _stored(allocation.initial(weights))
    current.document = _dump(experiment)
    current.name = experiment.name
    current.namespace = experiment.namespace.name if experiment.namespace else None
    current.version += 1
    current.updated_at = now
    session.flush()
    return current


def _split_changed(before: Experiment, after: Experiment) -> bool:
    """Whether the change alters who is in which variant from now on."""
    return (
        [(v.key, v.weight) for v in before.variants] != [(v.key, v.weight) for v in after.variants]
        or before.traffic != after.traffic
        or before.targeting != after.targeting
    )


def _check_namespace(session: Session, experiment: Experiment, exclude: str) -> None:
    space = experiment.namespace
    if space is None:
        return
    # Every experiment of the namespace is locked (in key order) before the check, so two
    # overlapping experiments started at once on PostgreSQL cannot both pass it.
    for other in repository.in_namespace(session, space.name, lock=True):
        if other.key == exclude or other.status != "running":
            continue
        theirs = spec_of(other).namespace
        if theirs is not None and theirs.start < space.end and space.start < theirs.end:
            raise NamespaceOverlap(
                key=experiment.key, namespace=space.name, other=other.key,
                start=theirs.start, end=theirs.end,
            )  # fmt: skip


def start(session: Session, key: str, now: datetime) -> ExperimentRow:
    """Start assigning units (a stopped experiment cannot start again: make a new one)."""
    current = row(session, key, lock=True)
    if current.status != "draft":
        raise ExperimentStateConflict(key=key, state=current.status, action="start")
    _check_namespace(session, spec_of(current), exclude=key)
    current.status = "running"
    current.started_at = now
    current.phase_started_at = now
    current.updated_at = now
    session.flush()
    return current


def stop(session: Session, key: str, now: datetime) -> ExperimentRow:
    """Stop assigning: every unit gets no variant from now on; results stay."""
    current = row(session, key, lock=True)
    if current.status != "running":
        raise ExperimentStateConflict(key=key, state=current.status, action="stop")
    current.status = "stopped"
    current.stopped_at = now
    current.updated_at = now
    session.flush()
    return current


def listing(session: Session, status: str | None = None) -> list[ExperimentRow]:
    """Experiments, newest first."""
    return list(repository.experiments(session, status))


def listing_page(
    session: Session, status: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[ExperimentRow], int]:
    """One page of experiments, newest first, and how many there are (of that status)."""
    rows, total = repository.experiments_page(session, status, offset, limit)
    return list(rows), total
