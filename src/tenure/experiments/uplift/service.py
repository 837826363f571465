"""Uplift targeting: fit on a past test, judge on held-out customers, score today's customers.

1. `fit`: the units of a campaign or experiment with a control group become training rows
   (`data.training_frame`: churn features before treatment, the outcome after it). Customers
   are split by user into a training and a held-out part, stratified by treatment; the
   learner fitted on the training part ranks the held-out customers, and the Qini and uplift
   curves (`evaluation.evaluate`) say how much of the incremental outcome its top shares
   capture. The stored version is then refitted on every customer, as the churn model is:
   the evaluation describes the procedure, the stored model uses all the data.
2. `score`: every customer's predicted uplift as of a day, with its rank (1 = the largest) and
   percentile (rank / customers), written to the warehouse's `scores` table as model "uplift".
   The segment rule `score.uplift.percentile <= 0.3` (`segment_rule(0.3)`) is then the audience
   "the top 30 % by uplift" for the next campaign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from tenure.config import Settings
from tenure.experiments.uplift import registry
from tenure.experiments.uplift.data import OUTCOMES, training_frame, validate_units
from tenure.experiments.uplift.errors import UpliftNoVariance, UpliftTooFewUnits
from tenure.experiments.uplift.evaluation import UpliftEvaluation, evaluate
from tenure.experiments.uplift.models import Kind, UpliftLearner, learner
from tenure.kit.time import utc_now
from tenure.predict.churn.features import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    customer_features,
    cutoff_instant,
)
from tenure.predict.churn.service import order_days
from tenure.predict.scores import frame_values, write_scores
from tenure.storage.warehouse import Warehouse

MODEL_NAME = "uplift"
# Treated and control customers each needs at least this many: fewer cannot support a model
# and a held-out part with both arms in it.
MIN_PER_ARM = 50
Outcome = Literal["orders", "revenue"]


@dataclass(frozen=True)
class UpliftConfig:
    """What to model: `outcome` in the `outcome_days` after treatment, with which learner, and
    the held-out share (split by user, stratified by treatment, seeded)."""

    outcome: Outcome = "orders"
    outcome_days: int = 28
    learner: Kind = "x_learner"
    held_out_share: float = 0.3
    seed: int = 7

    def __post_init__(self) -> None:
        """Refuse settings that cannot be meant (a programming error, not user input)."""
        if self.outcome not in ("orders", "revenue"):
            raise ValueError(f"outcome must be orders or revenue, got {self.outcome!r}")
        if self.outcome_days < 1:
            raise ValueError("outcome_days must be positive")
        if not 0 < self.held_out_share < 1:
            raise ValueError("held_out_share must be in (0, 1)")


@dataclass
class Fitted:
    """A learner fitted on the training part, and the held-out part with its `uplift` column."""

    model: UpliftLearner
    train: pd.DataFrame = field(repr=False)
    held_out: pd.DataFrame = field(repr=False)
    evaluation: UpliftEvaluation


def check_rows(frame: pd.DataFrame, outcome: Outcome) -> None:
    """Enough treated and control customers, and an outcome that varies."""
    treated = int(frame["treated"].sum())
    control = len(frame) - treated
    if min(treated, control) < MIN_PER_ARM:
        raise UpliftTooFewUnits(treated=treated, control=control, minimum=MIN_PER_ARM)
    if frame[OUTCOMES[outcome]].nunique() < 2:
        raise UpliftNoVariance(outcome=outcome)


def split(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and held-out rows: users drawn at random within each arm (seeded)."""
    from sklearn.model_selection import train_test_split

    rows = frame.sort_values("user_id", ignore_index=True)
    train, held = train_test_split(
        rows.index.to_numpy(), test_size=share, random_state=seed, stratify=rows["treated"]
    )
    return (
        rows.loc[np.sort(train)].reset_index(drop=True),
        rows.loc[np.sort(held)].reset_index(drop=True),
    )


def new_learner(kind: Kind) -> UpliftLearner:
    """An unfitted learner on the churn feature set."""
    return learner(kind, NUMERIC_FEATURES, CATEGORICAL_FEATURES)


def fit_frame(frame: pd.DataFrame, config: UpliftConfig) -> Fitted:
    """Fit on the training part of `frame` (a `training_frame`) and evaluate on the rest."""
    check_rows(frame, config.outcome)
    train, held = split(frame, config.held_out_share, config.seed)
    y = OUTCOMES[config.outcome]
    model = new_learner(config.learner).fit(train, train["treated"], train[y])
    held = held.assign(uplift=model.predict_uplift(held))
    result = evaluate(held["uplift"], held["treated"], held[y])
    return Fitted(model, train, held, result)


def fit(
    con: BaseBackend,
    zone: ZoneInfo,
    home: Path,
    units: pd.DataFrame,
    config: UpliftConfig | None = None,
) -> dict[str, Any]:
    """Fit, evaluate on held-out customers, refit on all of them and store a new version.

    Returns the version's metadata: the counts, the held-out evaluation and the version.
    """
    config = config or UpliftConfig()
    units = validate_units(units)
    frame = training_frame(con, units, zone, config.outcome_days)
    fitted = fit_frame(frame, config)
    y = OUTCOMES[config.outcome]
    model = new_learner(config.learner).fit(frame, frame["treated"], frame[y])
    treated = int(frame["treated"].sum())
    meta: dict[str, Any] = {
        "model": MODEL_NAME,
        "learner": config.learner,
        "fitted_at": utc_now().isoformat(),
        "outcome": config.outcome,
        "outcome_days": config.outcome_days,
        "units": len(units),
        "customers": len(frame),
        "dropped": len(units) - len(frame),
        "treated": treated,
        "control": len(frame) - treated,
        "treated_from": str(units["at"].min().isoformat()),
        "treated_until": str(units["at"].max().isoformat()),
        "training": len(fitted.train),
        "held_out": len(fitted.held_out),
        "seed": config.seed,
        "evaluation": fitted.evaluation.as_dict(),
    }
    version = registry.save(home, model, meta)
    return {**meta, "version": version}


def uplift_values(uplift: Any, users: Any) -> pd.DataFrame:
    """Scores per user: uplift, rank (1 = largest, ties by user id) and percentile = rank / n."""
    frame = pd.DataFrame(
        {"uplift": np.asarray(uplift, dtype=np.float64)},
        index=pd.Index(np.asarray(users).astype(str), name="user_id"),
    ).sort_index(kind="stable")
    n = len(frame)
    order = np.argsort(-frame["uplift"].to_numpy(), kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    frame["uplift"] = frame["uplift"].round(6)
    frame["rank"] = rank
    frame["percentile"] = np.round(rank / max(n, 1), 6)
    return frame


@dataclass(frozen=True)
class Scores:
    """Every customer's uplift scores as of a day, from one model version."""

    version: str
    as_of: date
    values: pd.DataFrame = field(repr=False)


def score(
    con: BaseBackend,
    zone: ZoneInfo,
    home: Path,
    as_of: date | None = None,
    version: str | None = None,
) -> Scores:
    """Predicted uplift of every customer at the end of `as_of` (default: the last order day)."""
    model, meta = registry.load(home, version)
    if as_of is None:
        as_of = order_days(con, zone)[1]
    columns = ["user_id", *NUMERIC_FEATURES, *CATEGORICAL_FEATURES]
    frame = customer_features(con, cutoff_instant(as_of, zone), zone).select(*columns).execute()
    uplift = model.predict_uplift(frame) if len(frame) else np.zeros(0)
    return Scores(str(meta["version"]), as_of, uplift_values(uplift, frame["user_id"]))


def segment_rule(share: float) -> dict[str, Any]:
    """The segment rule of "the top `share` of customers by predicted uplift"."""
    return {"field": f"score.{MODEL_NAME}.percentile", "op": "lte", "value": share}


def fit_units(
    settings: Settings, warehouse: Warehouse, units: pd.DataFrame, config: UpliftConfig
) -> dict[str, Any]:
    """Fit and store a new uplift model on the warehouse's customers (what the CLI runs)."""
    with warehouse.reader() as con:
        return fit(con, settings.zone, settings.home, units, config)


def score_customers(
    settings: Settings,
    warehouse: Warehouse,
    *,
    as_of: date | None = None,
    version: str | None = None,
    write: bool = True,
) -> Scores:
    """Score every customer with a stored uplift model; write `uplift` rows unless told not to."""
    with warehouse.reader() as con:
        scores = score(con, settings.zone, settings.home, as_of, version)
    if write and not scores.values.empty:
        with warehouse.writer() as writer:
            write_scores(writer, MODEL_NAME, scores.version, frame_values(scores.values))
    return scores
