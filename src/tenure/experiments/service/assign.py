"""Assigning units to variants at request time, and recording the exposure.

A unit is the shop's user id when the caller knows it, otherwise the anonymous id. A visitor
assigned as an anonymous id keeps that variant after signing in: the first request that
carries both ids records the anonymous id's variant for the user (`experiment_assignments`),
and later requests read it. Every assignment into a variant is recorded as an
`Experiment Viewed` event (properties `experiment_id`, `variation_id`: the Segment / GrowthBook
convention) through the tracking inbox, once per unit and variant, so analyses read exposures
from the warehouse whether the server or a client-side SDK recorded them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tenure.experiments import repository
from tenure.experiments.assignment import CARRIED, NOT_RUNNING, Assignment, assign
from tenure.experiments.models import ExperimentRow
from tenure.experiments.service.documents import owned, row, spec_of
from tenure.experiments.spec import EXPOSURE_EVENT
from tenure.ingest.tracking.service import store_own_events
from tenure.segments.service import segments_of


class _Segments:
    """The user's segments, looked up once and only if an experiment targets one."""

    def __init__(self, session: Session, user_id: str | None) -> None:
        self.session, self.user_id = session, user_id
        self._found: set[str] | None = None

    def get(self) -> set[str]:
        if self._found is None:
            self._found = set(segments_of(self.session, self.user_id)) if self.user_id else set()
        return self._found


def _one(
    session: Session,
    experiment_row: ExperimentRow,
    user_id: str | None,
    anonymous_id: str | None,
    attributes: Mapping[str, Any],
    segments: _Segments,
    now: datetime,
) -> Assignment:
    experiment = spec_of(experiment_row)
    unit = user_id or anonymous_id or ""
    if experiment_row.status != "running":
        return Assignment(experiment.key, unit, None, None, NOT_RUNNING)
    member_of = segments.get() if experiment.targeting.segment else set()
    allocated = owned(experiment_row)
    if user_id is None:
        return assign(experiment, allocated, unit, attributes, member_of)
    keys = [v.key for v in experiment.variants]
    kept = repository.carried(session, experiment.key, [user_id]).get(user_id)
    if kept is not None and kept in keys:
        return Assignment(experiment.key, user_id, kept, keys.index(kept), CARRIED)
    if anonymous_id:
        before = assign(experiment, allocated, anonymous_id, attributes, member_of)
        if before.variant is not None:
            repository.carry(session, experiment.key, user_id, before.variant, anonymous_id, now)
            return Assignment(
                experiment.key,
                user_id,
                before.variant,
                before.variant_index,
                CARRIED,
                before.bucket,
            )
    return assign(experiment, allocated, user_id, attributes, member_of)


def exposure(
    assignment: Assignment, user_id: str | None, anonymous_id: str | None, at: datetime
) -> dict[str, Any]:
    """The tracking message of an exposure; its id makes a repeat a no-op."""
    digest = hashlib.sha256(
        f"{assignment.experiment}\x00{assignment.unit_id}\x00{assignment.variant}".encode()
    ).hexdigest()[:32]
    message: dict[str, Any] = {
        "type": "track", "event": EXPOSURE_EVENT, "messageId": f"experiment:{digest}",
        "timestamp": at.isoformat(),
        "properties": {
            "experiment_id": assignment.experiment, "variation_id": assignment.variant,
            "variation_index": assignment.variant_index, "source": "tenure",
        },
    }  # fmt: skip
    if user_id:
        message["userId"] = user_id
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    return message


def assign_units(
    session: Session,
    keys: Iterable[str] | None,
    user_id: str | None,
    anonymous_id: str | None,
    attributes: Mapping[str, Any],
    now: datetime,
    record: bool = True,
) -> list[Assignment]:
    """The unit's assignment in each experiment (`keys`; every running one when None)."""
    if keys is None:
        rows = list(repository.experiments(session, "running"))
    else:
        rows = [row(session, key) for key in keys]
    segments = _Segments(session, user_id)
    found = [_one(session, r, user_id, anonymous_id, attributes, segments, now) for r in rows]
    if record:
        exposures = [exposure(a, user_id, anonymous_id, now) for a in found if a.in_experiment]
        if exposures:
            store_own_events(session, exposures)
    return found
