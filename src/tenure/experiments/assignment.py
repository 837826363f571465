"""Deterministic assignment of a unit (a user id or an anonymous id) to a variant.

The order of checks is GrowthBook's (`_run` in its SDKs): targeting, the namespace, then the
bucket: `hash(seed, unit)` placed in the variants' ranges in use (`allocation.py`). The hash is
GrowthBook's (`kit/buckets.py`, v2 by default, v1 for documents that ask for it), and a
namespace holds the units whose `hash_v1("__" + name, unit)` falls in its range, as in
GrowthBook's `inNamespace`, so experiments whose ranges in one namespace do not overlap never
share a unit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from tenure.experiments import allocation
from tenure.experiments.spec import Experiment, Namespace, Targeting
from tenure.kit.buckets import hash_v1, hash_v2

ASSIGNED = "assigned"
CARRIED = "carried"  # kept from the anonymous id the user had before signing in
NOT_RUNNING = "not_running"
NOT_TARGETED = "not_targeted"
OTHER_LAYER = "other_layer"  # the unit belongs to another part of the namespace
NO_TRAFFIC = "no_traffic"  # outside the experiment's traffic share


@dataclass(frozen=True)
class Assignment:
    """Where a unit stands in one experiment."""

    experiment: str
    unit_id: str
    variant: str | None
    variant_index: int | None
    reason: str
    bucket: float | None = None

    @property
    def in_experiment(self) -> bool:
        return self.variant is not None


def bucket(experiment: Experiment, unit_id: str) -> float:
    """The unit's bucket in [0, 1) for the experiment's seed and hash version."""
    if experiment.hash_version == 1:
        return hash_v1(experiment.hash_seed, unit_id)
    return hash_v2(experiment.hash_seed, unit_id)


def in_namespace(namespace: Namespace, unit_id: str) -> bool:
    """Whether the unit falls in the namespace range (GrowthBook's `inNamespace`)."""
    value = hash_v1("__" + namespace.name, unit_id)
    return namespace.start <= value < namespace.end


def _accepts(wanted: Any, given: Any) -> bool:
    options = wanted if isinstance(wanted, list) else [wanted]
    # Compared as text too, so "1" from a query string matches 1 in the document.
    return any(given == option or str(given) == str(option) for option in options)


def targeted(
    targeting: Targeting, attributes: Mapping[str, Any], segments: Collection[str]
) -> bool:
    """Whether attributes and segment memberships let the unit in."""
    if targeting.segment is not None and targeting.segment not in segments:
        return False
    return all(
        name in attributes and _accepts(wanted, attributes[name])
        for name, wanted in targeting.attributes.items()
    )


def assign(
    experiment: Experiment,
    owned: allocation.Allocation,
    unit_id: str,
    attributes: Mapping[str, Any],
    segments: Collection[str],
) -> Assignment:
    """The unit's variant in a running experiment, or the reason it has none."""
    key = experiment.key
    if not targeted(experiment.targeting, attributes, segments):
        return Assignment(key, unit_id, None, None, NOT_TARGETED)
    if experiment.namespace is not None and not in_namespace(experiment.namespace, unit_id):
        return Assignment(key, unit_id, None, None, OTHER_LAYER)
    value = bucket(experiment, unit_id)
    index = allocation.choose(value, allocation.ranges(owned, experiment.traffic))
    if index is None:
        return Assignment(key, unit_id, None, None, NO_TRAFFIC, value)
    return Assignment(key, unit_id, experiment.variants[index].key, index, ASSIGNED, value)
