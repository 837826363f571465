"""Assigning units to variants at request time, and recording the exposure.

A unit is the shop's user id when the caller knows it, otherwise the anonymous id. A visitor
assigned as an anonymous id keeps that variant after signing in: anonymous assignments are
remembered (`experiment_assignments`), and the variant passes to a user id that has none yet,
either on the first assignment request that carries both ids or when the tracking API receives
an identify or alias call linking them (`carry_identified`); later requests with the user id
read it. A user assigned by their own id first keeps their own variant.

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

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from tenure.experiments import repository
from tenure.experiments.assignment import CARRIED, NOT_RUNNING, Assignment, assign
from tenure.experiments.models import ExperimentRow
from tenure.experiments.service.documents import owned, row, spec_of
from tenure.experiments.spec import EXPOSURE_EVENT
from tenure.ingest.tracking.service import store_own_events
from tenure.kit.bounds import UserId
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
    """The rules: a user's carried-over variant is kept; otherwise a unit's own hash decides
    (so weight changes apply), and its first assignment is remembered. A user first seen with
    an anonymous id that was assigned takes that id's variant (carried); a user assigned
    before by their own id keeps their own."""
    experiment = spec_of(experiment_row)
    key = experiment.key
    unit = user_id or anonymous_id or ""
    if experiment_row.status != "running":
        return Assignment(key, unit, None, None, NOT_RUNNING)
    member_of = segments.get() if experiment.targeting.segment else set()
    allocated = owned(experiment_row)
    variants = [v.key for v in experiment.variants]
    known = repository.remembered(session, key, [u for u in (user_id, anonymous_id) if u])

    def hashed(unit_id: str) -> Assignment:
        found = assign(experiment, allocated, unit_id, attributes, member_of)
        if found.variant is not None and unit_id not in known:
            repository.carry(session, key, unit_id, found.variant, unit_id, now)
        return found

    if user_id:
        mine = known.get(user_id)
        if mine is not None and mine[1] != user_id and mine[0] in variants:
            return Assignment(key, user_id, mine[0], variants.index(mine[0]), CARRIED)
        before = known.get(anonymous_id) if anonymous_id else None
        if mine is None and before is not None and before[0] in variants:
            repository.carry(session, key, user_id, before[0], str(anonymous_id), now)
            return Assignment(key, user_id, before[0], variants.index(before[0]), CARRIED)
        return hashed(user_id)
    assert anonymous_id is not None
    return hashed(anonymous_id)


_USER_ID: TypeAdapter[str] = TypeAdapter(UserId)


def _usable(unit_id: str) -> bool:
    """An id the assignments table can hold: the API's `UserId` rule (tracking ids are
    checked more loosely)."""
    try:
        _USER_ID.validate_python(unit_id)
    except ValidationError:
        return False
    return True


def carry_identified(session: Session, links: list[tuple[str, str]], at: datetime) -> None:
    """Give each user the variants their anonymous (or aliased) id was assigned, in every
    experiment where the user has none yet: the tracking API calls this on identify and alias."""
    pairs = [(a, u) for a, u in links if _usable(a) and _usable(u)]
    if not pairs:
        return
    found = repository.assignments_of(session, sorted({a for a, _ in pairs}))
    by_unit: dict[str, list[tuple[str, str]]] = {}
    for unit_id, key, variant in found:
        by_unit.setdefault(unit_id, []).append((key, variant))
    for anonymous_id, user_id in pairs:
        for key, variant in by_unit.get(anonymous_id, []):
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
