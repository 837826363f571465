"""Uplift errors: each a stable code (`error.<code>` in the catalogue) with the data behind it."""

from __future__ import annotations

from tenure.errors import BadRequest, Conflict, NotFound


class UpliftUnitsInvalid(BadRequest):
    """The units (user_id, treated, at) cannot be read: `column` names the bad one."""

    code = "uplift_units_invalid"


class UpliftUnitsSource(BadRequest):
    """Units come from a campaign or from a file: exactly one of them."""

    code = "uplift_units_source"


class UpliftTooFewUnits(Conflict):
    """Too few treated or control customers to fit and evaluate an uplift model."""

    code = "uplift_too_few_units"


class UpliftNoVariance(Conflict):
    """Every unit had the same outcome: there is no response to model."""

    code = "uplift_no_outcome_variance"


class UpliftModelMissing(NotFound):
    """No fitted uplift model (or not the asked version)."""

    code = "uplift_model_missing"
