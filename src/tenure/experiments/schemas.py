"""Experiment API models: requests and the results table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenure.experiments.spec import Key
from tenure.kit.bounds import UserId


class ExperimentOut(BaseModel):
    """An experiment as listed and shown."""

    key: str
    name: str
    status: str
    version: int
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    phase: int  # a change of weights, traffic or targeting while running starts a new one
    phase_started_at: datetime | None


class AssignRequest(BaseModel):
    """Who to assign: the user id, the anonymous id, or both (right after sign-in)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    user_id: UserId | None = None
    anonymous_id: UserId | None = None
    attributes: dict[str, str | int | float | bool] = Field(default={}, max_length=100)
    record: bool = True  # record the exposure (false: the caller will send its own event)

    @model_validator(mode="after")
    def _someone(self) -> AssignRequest:
        if not self.user_id and not self.anonymous_id:
            raise ValueError("give a user_id or an anonymous_id")
        return self


class EvaluateRequest(AssignRequest):
    """Assign one unit in several experiments (every running one when `keys` is empty)."""

    keys: list[Key] = Field(default=[], max_length=100)


class AssignmentOut(BaseModel):
    """One unit's place in one experiment."""

    experiment: str
    unit_id: str
    in_experiment: bool
    variant: str | None
    variant_index: int | None
    reason: str


class PowerRequest(BaseModel):
    """Sample size for a minimum detectable relative lift, from a baseline."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    baseline_mean: float = Field(ge=1e-9, le=1e12)
    baseline_stddev: float | None = Field(default=None, ge=1e-9, le=1e12)  # none: a proportion
    lift: float = Field(ge=-0.99, le=100, description="relative lift to detect, 0.05 for +5 %")
    power: float = Field(default=0.8, ge=0.01, le=0.999)
    alpha: float = Field(default=0.05, ge=1e-6, lt=0.5)
    variants: int = Field(default=2, ge=2, le=20)
    daily_units: float | None = Field(default=None, ge=1, le=1e12)


class PowerOut(BaseModel):
    """Units needed per variant and in total, and the days that takes."""

    units_per_variant: int
    total_units: int
    days: int | None
    power: float


class VariantMetric(BaseModel):
    """One variant's value of one metric, and its comparison with the control."""

    variant: str
    units: int
    mean: float
    stddev: float
    lift: float | None = None  # relative (or absolute, see `difference`) vs control
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    adjusted_p_value: float | None = None
    chance_to_win: float | None = None
    risk: float | None = None  # expected loss of shipping this variant
    significant: bool | None = None
    reason: str | None = None  # why there is no comparison


class MetricResult(BaseModel):
    """A metric across variants."""

    key: str
    kind: str
    guardrail: bool
    inverse: bool
    cuped: bool
    variants: list[VariantMetric]


class ExperimentResults(BaseModel):
    """The results table: units, SRM, every metric's lift, and a verdict."""

    key: str
    status: str
    phase: int = 1  # the results read the exposures of this phase only
    engine: str  # frequentist / sequential
    difference: str
    alpha: float
    correction: str
    currency: str | None
    units: dict[str, int]
    multiple_exposures: int
    srm_p_value: float
    srm_flag: bool
    metrics: list[MetricResult]
    verdict: str
    verdict_code: str
