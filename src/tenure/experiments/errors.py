"""Experiment errors: each a stable code with the data behind it."""

from __future__ import annotations

from tenure.errors import BadRequest, Conflict, NotFound


class ExperimentInvalid(BadRequest):
    """The experiment document does not validate; `path` names the place, `reason` the rule."""

    code = "experiment_invalid"


class ExperimentNotFound(NotFound):
    """No experiment with that key."""

    code = "experiment_not_found"


class ExperimentExists(Conflict):
    """An experiment with that key exists already."""

    code = "experiment_exists"


class ExperimentStateConflict(Conflict):
    """The action does not apply in the experiment's state (e.g. stop a draft)."""

    code = "experiment_state_conflict"


class ExperimentVersionConflict(Conflict):
    """Someone saved the experiment since the caller read it."""

    code = "experiment_version_conflict"


class NamespaceOverlap(Conflict):
    """Another running experiment holds part of the same namespace range."""

    code = "experiment_namespace_overlap"


class UnknownEvent(BadRequest):
    """A metric counts an event the warehouse has never seen."""

    code = "experiment_unknown_event"


class NoExposures(Conflict):
    """The analysis found nobody exposed to the experiment."""

    code = "experiment_no_exposures"


class InvalidPowerInput(BadRequest):
    """The power calculator's inputs cannot give a sample size."""

    code = "experiment_power_invalid"


class UnknownVariant(BadRequest):
    """A variant the experiment does not have (or its control where a treatment is wanted)."""

    code = "experiment_unknown_variant"
