"""The experiment document: variants and weights, traffic, targeting, layers, metrics, analysis.

Saved as JSON/YAML (see docs/experiments.md). `parse` checks the whole document and names the
path of the first problem (`$.variants[1].weight`), like campaign documents do.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from tenure.experiments.errors import ExperimentInvalid
from tenure.kit.bounds import Line, Name, Text
from tenure.kit.documents import json_or_yaml

KEY = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
RESERVED = {"power", "evaluate", "validate"}  # path words of the HTTP API next to /{key}
EXPOSURE_EVENT = "Experiment Viewed"  # the Segment / GrowthBook convention
WEIGHT_TOLERANCE = 1e-6
Key = Annotated[str, StringConstraints(pattern=KEY)]
AttributeValue = str | int | float | bool


class _Strict(BaseModel):
    # No NaN or infinity: YAML's .inf and JSON's NaN would reach the statistics.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Variant(_Strict):
    """One arm. The first variant is the control every other one is compared with."""

    key: Key
    name: Name | None = None
    weight: float = Field(ge=0, le=1)


class Namespace(_Strict):
    """A layer: experiments in one namespace with disjoint ranges never share a user."""

    name: Key
    start: float = Field(ge=0, le=1)
    end: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Namespace:
        if self.end <= self.start:
            raise ValueError("a namespace range needs start < end")
        return self


class Targeting(_Strict):
    """Who may enter: members of a saved segment, and units whose attributes match."""

    segment: Key | None = None
    # name → a value or a list of accepted values, matched against the attributes the caller
    # sends with the assignment request.
    attributes: dict[Key, AttributeValue | list[AttributeValue]] = {}


MetricKind = Literal[
    "conversion",  # 0/1: did the unit do `event` (or pay for an order) within the window
    "count",  # events (or paid orders) per unit within the window
    "revenue",  # paid order value per unit within the window, refunded orders excluded
    "aov",  # average order value: revenue / paid orders (a ratio metric)
    "retention",  # 0/1: was the unit active on day `day` after exposure (± `window_days`)
    "refund_rate",  # refunded orders / orders (ratio; lower is better)
    "points_redeemed",  # loyalty points spent or redeemed at checkout per unit
    "coupon_cost",  # discount given by offers used at checkout per unit (lower is better)
]
OPERATIONAL = ("points_redeemed", "coupon_cost")  # read from the operational database


class Metric(_Strict):
    """A metric measured per unit from its first exposure for `window_days`."""

    key: Key
    kind: MetricKind
    event: Line | None = None  # conversion / count: an event name; none means paid orders
    window_days: int = Field(default=14, ge=1, le=365)
    day: int | None = Field(default=None, ge=1, le=365)  # retention: which day after exposure
    inverse: bool = False  # lower is better (refund rate, unsubscribes)

    @property
    def binary(self) -> bool:
        """A 0/1 metric per unit (a proportion), whatever the count behind it."""
        return self.kind in ("conversion", "retention")

    @model_validator(mode="after")
    def _fits(self) -> Metric:
        if self.kind == "retention" and self.day is None:
            raise ValueError("a retention metric needs `day` (7 for day-7 retention)")
        if self.kind != "retention" and self.day is not None:
            raise ValueError("only a retention metric takes `day`")
        if self.event is not None and self.kind not in ("conversion", "count"):
            raise ValueError("only conversion and count metrics take an `event`")
        return self


# Ready-made metrics an experiment names by key alone.
STANDARD: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(key="conversion", kind="conversion"),
        Metric(key="revenue", kind="revenue"),
        Metric(key="orders", kind="count"),
        Metric(key="aov", kind="aov"),
        Metric(key="retention_d7", kind="retention", day=7, window_days=1),
        Metric(key="retention_d30", kind="retention", day=30, window_days=1),
        Metric(key="refund_rate", kind="refund_rate", inverse=True),
        Metric(key="unsubscribe_rate", kind="conversion", event="Unsubscribed", inverse=True),
        Metric(key="points_redeemed", kind="points_redeemed"),
        Metric(key="coupon_cost", kind="coupon_cost", inverse=True),
    )
}


def _entry_kind(value: Any) -> str:
    return "name" if isinstance(value, str) else "metric"


# A metric is named (a STANDARD key) or defined in place.
MetricEntry = Annotated[
    Annotated[Key, Tag("name")] | Annotated[Metric, Tag("metric")], Discriminator(_entry_kind)
]


class Analysis(_Strict):
    """How results are computed."""

    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    difference: Literal["relative", "absolute"] = "relative"
    sequential: bool = False  # always-valid intervals: safe to look every day
    sequential_tuning: float = Field(default=5000, ge=1, le=1e9)  # units it is tuned for
    cuped_days: int = Field(default=14, ge=0, le=365)  # pre-exposure days; 0 turns CUPED off
    correction: Literal["none", "holm", "bh"] = "holm"
    # "server": only the exposures Tenure's assign API recorded; "any" also counts those a
    # client-side SDK sent through /v1/track (which anyone with the write key can send).
    exposures: Literal["any", "server"] = "any"
    prior_mean: float = Field(default=0.0, ge=-1e6, le=1e6)  # a Gaussian prior on the lift
    prior_stddev: float | None = Field(default=None, ge=1e-6, le=1e6)  # none: a flat prior


class Experiment(_Strict):
    """An A/B (or A/B/n) experiment."""

    key: Key
    name: Name
    hypothesis: Text | None = None
    variants: list[Variant] = Field(min_length=2, max_length=20)
    traffic: float = Field(default=1.0, ge=0, le=1)
    seed: Line | None = None  # hashed with the unit id; the key when none
    hash_version: Literal[1, 2] = 2
    namespace: Namespace | None = None
    targeting: Targeting = Targeting()
    metrics: list[MetricEntry] = Field(default=["conversion"], min_length=1, max_length=30)
    guardrails: list[MetricEntry] = Field(default=[], max_length=30)
    analysis: Analysis = Analysis()

    @field_validator("key")
    @classmethod
    def _not_reserved(cls, key: str) -> str:
        if key in RESERVED:
            raise ValueError(f"`{key}` is a reserved word; pick another key")
        return key

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        total = math.fsum(v.weight for v in self.variants)
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise ValueError(f"the variants' weights sum to {total:g}, not 1")
        keys = [v.key for v in self.variants]
        if len(set(keys)) != len(keys):
            raise ValueError("two variants share a key")
        names = [m if isinstance(m, str) else m.key for m in (*self.metrics, *self.guardrails)]
        if len(set(names)) != len(names):
            raise ValueError("two metrics share a key")
        return self

    @property
    def hash_seed(self) -> str:
        return self.seed or self.key

    def resolved_metrics(self) -> list[Metric]:
        return [_metric(m) for m in self.metrics]

    def resolved_guardrails(self) -> list[Metric]:
        return [_metric(m) for m in self.guardrails]


def _metric(entry: str | Metric) -> Metric:
    if isinstance(entry, Metric):
        return entry
    return STANDARD[entry]


def _path(loc: tuple[Any, ...]) -> str:
    out = "$"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("name", "metric"):
            continue  # pydantic names the union member it tried; the reader wants the field
        else:
            out += f".{part}"
    return out


def _unknown_metric(data: dict[str, Any]) -> None:
    for field in ("metrics", "guardrails"):
        entries = data.get(field)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            if isinstance(entry, str) and entry not in STANDARD:
                known = ", ".join(STANDARD)
                raise ExperimentInvalid(
                    path=f"$.{field}[{index}]",
                    reason=f"unknown metric `{entry}`; use one of {known} or define it",
                )


def parse(document: Any) -> Experiment:
    """An experiment from a mapping or JSON/YAML text; ExperimentInvalid names the bad path."""
    try:
        data = json_or_yaml(document) if isinstance(document, str) else document
    except ValueError as exc:
        raise ExperimentInvalid(path="$", reason=str(exc)) from None
    if not isinstance(data, dict):
        raise ExperimentInvalid(path="$", reason="an experiment is an object")
    _unknown_metric(data)
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        reason = str(first.get("msg", "")).removeprefix("Value error, ")
        raise ExperimentInvalid(path=_path(tuple(first.get("loc", ()))), reason=reason) from None
