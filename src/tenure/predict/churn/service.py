"""Churn: plan leakage-free cut-offs, train and version the model, score users, evaluate later.

Training rows at cut-off T use features before T and labels in (T, T + W] with T + W never
after the day the model is trained "as of"; evaluation trains that way up to its own cut-off E
and then scores customers at E against what they did in (E, E + horizon].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from ibis.backends import BaseBackend

from tenure.errors import BadRequest
from tenure.kit.localtime import local_day
from tenure.kit.time import utc_now
from tenure.predict.churn import registry
from tenure.predict.churn.btyd import BTYD_COLUMNS, btyd_columns
from tenure.predict.churn.features import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    labelled_features,
)
from tenure.predict.churn.metrics import ranking_metrics
from tenure.predict.churn.model import ChurnModel, ChurnModelError

MODEL_NAME = "churn"
MODEL_FEATURES = (*NUMERIC_FEATURES, "bgnbd_p_alive", "bgnbd_p_order", "bgnbd_expected_orders")
# Fewer days of history before a training cut-off make recency and frequency meaningless.
MIN_HISTORY_DAYS = 30
EPOCH = date(1970, 1, 1)
# A median wait beyond this is "no order expected": BG/NBD keeps one-time buyers alive forever.
MAX_NEXT_ORDER_DAYS = 365


class ChurnInputError(BadRequest):
    """The orders cannot support training or evaluating the churn model."""

    code = "churn_invalid_input"


@dataclass(frozen=True)
class ChurnConfig:
    """Churn = no paid order in the next `horizon_days`; `windows` cut-offs `step_days` apart."""

    horizon_days: int = 90
    windows: int = 3
    step_days: int = 30


@dataclass(frozen=True)
class TrainingPlan:
    """Training cut-offs (newest first) and the label window each one uses."""

    cutoffs: tuple[date, ...]
    label_days: int


def plan_training(first_day: date, as_of: date, config: ChurnConfig) -> TrainingPlan:
    """Cut-offs whose label windows end on or before `as_of`.

    The label window is the horizon when the history allows it, else half the history
    (so a short history still yields a model, documented by `label_days`).
    """
    history = (as_of - first_day).days
    label_days = min(config.horizon_days, history // 2)
    if label_days < 1 or history - label_days < MIN_HISTORY_DAYS // 2:
        raise ChurnInputError(reason=f"only {history} days of orders before {as_of}")
    newest = as_of - timedelta(days=label_days)
    cutoffs = [newest]
    for k in range(1, config.windows):
        day = newest - timedelta(days=k * config.step_days)
        if (day - first_day).days < MIN_HISTORY_DAYS:
            break
        cutoffs.append(day)
    return TrainingPlan(tuple(cutoffs), label_days)


def order_days(con: BaseBackend, zone: ZoneInfo) -> tuple[date, date]:
    """The first and last shop-local day with a paid order of a known customer."""
    orders = con.table("orders")
    paid = orders.filter(orders.user_id.notnull() & (orders.status == "paid"))
    day = local_day(paid.ts, zone, con.name)
    row = paid.aggregate(first=day.min(), last=day.max()).execute()
    if row.empty or pd.isna(row["first"].iloc[0]):
        raise ChurnInputError(reason="no paid orders of known customers")
    return pd.Timestamp(row["first"].iloc[0]).date(), pd.Timestamp(row["last"].iloc[0]).date()


def feature_frame(con: BaseBackend, day: date, zone: ZoneInfo, horizon_days: int) -> pd.DataFrame:
    """Warehouse features at the end of `day` with BG/NBD columns fitted on the same history.

    The BG/NBD window columns cover `horizon_days`, the window being predicted, also when the
    model was trained on shorter label windows: on CDNOW (trained on 136-day windows, scored for
    273 days) that gave ROC-AUC 0.769 and calibration error 0.041, against 0.767 and 0.064 with
    the training window's length.
    """
    frame = labelled_features(con, day, zone, horizon_days).execute()
    frame = frame.sort_values("user_id", ignore_index=True)
    if frame.empty:
        return frame.assign(**{c: pd.Series(dtype="float64") for c in BTYD_COLUMNS})
    return pd.concat([frame, btyd_columns(frame, (day - EPOCH).days, horizon_days)], axis=1)


def fit_model(
    con: BaseBackend, zone: ZoneInfo, as_of: date, first_day: date, config: ChurnConfig
) -> tuple[ChurnModel, TrainingPlan, int]:
    """A model trained on the cut-offs that `plan_training` allows before `as_of`."""
    plan = plan_training(first_day, as_of, config)
    rows = pd.concat(
        [feature_frame(con, day, zone, plan.label_days) for day in plan.cutoffs],
        ignore_index=True,
    )
    try:
        model = ChurnModel(MODEL_FEATURES, CATEGORICAL_FEATURES).fit(rows, rows["churned"])
    except ChurnModelError as exc:
        raise ChurnInputError(reason=str(exc)) from None
    return model, plan, len(rows)


def train(
    con: BaseBackend,
    zone: ZoneInfo,
    home: Path,
    config: ChurnConfig | None = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """Train on everything up to `as_of` (default: the last order day) and store a new version."""
    config = config or ChurnConfig()
    first, last = order_days(con, zone)
    as_of = as_of or last
    model, plan, rows = fit_model(con, zone, as_of, first, config)
    meta = {
        "model": MODEL_NAME,
        "trained_at": utc_now().isoformat(),
        "as_of": str(as_of),
        "horizon_days": config.horizon_days,
        "windows": config.windows,
        "step_days": config.step_days,
        "label_days": plan.label_days,
        "cutoffs": [str(d) for d in plan.cutoffs],
        "training_rows": rows,
        "rounds": model.rounds_,
        "importance": model.importance(),
    }
    version = registry.save(home, model, meta)
    return {**meta, "version": version}


def config_of_latest(home: Path) -> ChurnConfig:
    """The churn definition of the newest stored model (the shop's choice), else the default."""
    if not registry.versions(home):
        return ChurnConfig()
    meta = registry.metadata(home)
    default = ChurnConfig()
    return ChurnConfig(
        horizon_days=int(meta.get("horizon_days", default.horizon_days)),
        windows=int(meta.get("windows", default.windows)),
        step_days=int(meta.get("step_days", default.step_days)),
    )


def score(
    con: BaseBackend,
    zone: ZoneInfo,
    home: Path,
    as_of: date | None = None,
    version: str | None = None,
) -> tuple[str, pd.DataFrame]:
    """Churn probability, top drivers and next-order date per customer as of `as_of`."""
    model, meta = registry.load(home, version)
    if as_of is None:
        as_of = order_days(con, zone)[1]
    horizon = int(meta["horizon_days"])
    frame = feature_frame(con, as_of, zone, horizon)
    out = pd.DataFrame(index=pd.Index(frame["user_id"].astype(str), name="user_id"))
    if frame.empty:
        return str(meta["version"]), out
    probability = model.predict_proba(frame)
    next_days = frame["next_order_days"].to_numpy()
    out["churn_probability"] = probability.round(4)
    out["horizon_days"] = horizon
    out["as_of"] = str(as_of)
    out["p_alive"] = frame["bgnbd_p_alive"].round(4).to_numpy()
    out["recency_days"] = frame["recency_days"].round(1).to_numpy()
    out["next_order_date"] = [
        None
        if pd.isna(d) or d > MAX_NEXT_ORDER_DAYS
        else str(as_of + timedelta(days=max(1, round(d))))
        for d in next_days
    ]
    out["drivers"] = pd.Series(model.drivers(frame), index=out.index, dtype=object)
    return str(meta["version"]), out


def evaluate(
    con: BaseBackend, zone: ZoneInfo, config: ChurnConfig | None = None, cutoff: date | None = None
) -> dict[str, Any]:
    """Train up to `cutoff`, then rank its customers against the next horizon; with baselines.

    The default cut-off leaves one full horizon of data after it.
    """
    config = config or ChurnConfig()
    first, last = order_days(con, zone)
    cutoff = cutoff or last - timedelta(days=config.horizon_days)
    if cutoff + timedelta(days=config.horizon_days) > last:
        raise ChurnInputError(
            reason=f"the window after {cutoff} ends after the last order day {last}"
        )
    model, plan, rows = fit_model(con, zone, cutoff, first, config)
    test = feature_frame(con, cutoff, zone, config.horizon_days)
    if test.empty:
        raise ChurnInputError(reason=f"no customers before {cutoff}")
    labels = test["churned"].to_numpy()
    scores = {
        "model": ranking_metrics(labels, model.predict_proba(test), probability=True),
        "recency": ranking_metrics(labels, test["recency_days"].to_numpy()),
        "bgnbd_p_alive": ranking_metrics(labels, 1.0 - test["bgnbd_p_alive"].to_numpy()),
        "bgnbd_expected_orders": ranking_metrics(labels, -test["bgnbd_expected_orders"].to_numpy()),
    }
    return {
        "cutoff": str(cutoff),
        "window_end": str(cutoff + timedelta(days=config.horizon_days)),
        "horizon_days": config.horizon_days,
        "training_cutoffs": [str(d) for d in plan.cutoffs],
        "training_label_days": plan.label_days,
        "training_rows": rows,
        "customers": len(test),
        "churn_rate": round(float(labels.mean()), 4),
        "rankings": {name: m.as_dict() for name, m in scores.items()},
        "importance": dict(list(model.importance().items())[:10]),
    }
