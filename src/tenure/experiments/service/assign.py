"""Assigning units to variants at request time, and recording the exposure.

A unit is the shop's user id when the caller knows it, otherwise the anonymous id. A visitor
assigned as an anonymous id keeps that variant after signing in: anonymous assignments are
remembered (`experiment_assignments`), and the variant passes to the user id either on the
first assignment request that carries both ids, or when the tracking API receives an identify
or alias call linking them (`carry_identified`); later requests with the user id read it.

Every assignment into a variant is recorded as an `Experiment Viewed` event (properties
`experiment_id`, `variation_id`: the Segment / GrowthBook convention) through the tracking
inbox, once per unit and variant, so analyses read exposures from the warehouse whether the
server or a client-side SDK recorded them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tenure.experiments import repository
from tenure.experiments.assignment import ASSIGNED, CARRIED, NOT_RUNNING, Assignment, assign
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
    key = experiment.key
    unit = user_id or anonymous_id or ""
    if experiment_row.status != "running":
        return Assignment(key, unit, None, None, NOT_RUNNING)
    member_of = segments.get() if experiment.targeting.segment else set()
    allocated = owned(experiment_row)
    variants = [v.key for v in experiment.variants]
    kept = {
        u: v
        for u, v in repository.carried(
            session, key, [u for u in (user_id, anonymous_id) if u]
        ).items()
        if v in variants
    }
    if user_id and user_id in kept:
        return Assignment(key, user_id, kept[user_id], variants.index(kept[user_id]), CARRIED)
    if user_id and not anonymous_id:
        return assign(experiment, allocated, user_id, attributes, member_of)
    assert anonymous_id is not None
    if anonymous_id in kept:
        found = Assignment(key, anonymous_id, kept[anonymous_id],
                           variants.index(kept[anonymous_id]), ASSIGNED)  # fmt: skip
    else:
        found = assign(experiment, allocated, anonymous_id, attributes, member_of)
        if found.variant is not None:
            # Remembered, so the variant can follow the visitor when they sign in.
            repository.carry(session, key, anonymous_id, found.variant, anonymous_id, now)
    if user_id is None:
        return found
    if found.variant is None:
        return assign(experiment, allocated, user_id, attributes, member_of)
    repository.carry(session, key, user_id, found.variant, anonymous_id, now)
    return Assignment(key, user_id, found.variant, found.variant_index, CARRIED, found.bucket)


def carry_identified(session: Session, links: list[tuple[str, str]], at: datetime) -> None:
    """Give each user the variants their anonymous (or aliased) id was assigned, in every
    experiment where the user has none yet: the tracking API calls this on identify and alias."""
    for anonymous_id, user_id in links:
        for key, variant in repository.assignments_of(session, anonymous_id).items():
            repository.carry(session, key, user_id, variant, anonymous_id, at)


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
