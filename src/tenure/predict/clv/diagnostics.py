"""Model checks as numbers and tables: holdout accuracy, frequency fit, tracking by period."""

# `T` (customer age) is the name the papers and lifetimes give this column.
# ruff: noqa: N803

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from tenure.predict.clv.base import TransactionModel
from tenure.predict.clv.data import prepare_transactions
from tenure.predict.clv.inputs import FloatArray, InvalidInput
from tenure.predict.clv.timeunits import TimeUnit, days_per_unit

HOLDOUT_COLUMNS = ("frequency", "recency", "T", "frequency_holdout", "duration_holdout")


@dataclass(frozen=True)
class HoldoutMetrics:
    """Predicted against actual holdout purchases; `auc_reason` says why `auc` is None."""

    n_customers: int
    actual_total: float
    predicted_total: float
    total_error_pct: float
    mae: float
    rmse: float
    auc: float | None
    auc_reason: str | None


def _columns(summary: pd.DataFrame, names: tuple[str, ...]) -> list[FloatArray]:
    """The named summary columns as float arrays; a missing one is named in the error."""
    for name in names:
        if name not in summary.columns:
            raise InvalidInput(name, "missing from the summary (see summary_from_transactions)")
    return [summary[name].to_numpy(dtype=np.float64) for name in names]


def roc_auc(labels: Any, scores: Any) -> float | None:
    """ROC-AUC by the rank-sum (Mann-Whitney) identity, ties counted half; None if one class."""
    y = np.asarray(labels, dtype=bool)
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def predict_holdout(model: TransactionModel[Any], summary: pd.DataFrame) -> FloatArray:
    """Expected holdout purchases of each customer, given the calibration history."""
    x, t_x, age, _, duration = _columns(summary, HOLDOUT_COLUMNS)
    return model.expected_purchases(duration, x, t_x, age)


def holdout_metrics(model: TransactionModel[Any], summary: pd.DataFrame) -> HoldoutMetrics:
    """Totals, per-customer MAE and RMSE, and ROC-AUC of "bought again in the holdout"."""
    actual = _columns(summary, ("frequency_holdout",))[0]
    predicted = predict_holdout(model, summary)
    error = predicted - actual
    total_actual, total_predicted = float(actual.sum()), float(predicted.sum())
    auc = roc_auc(actual > 0, predicted)
    return HoldoutMetrics(
        n_customers=int(actual.size),
        actual_total=total_actual,
        predicted_total=total_predicted,
        total_error_pct=(
            100 * (total_predicted - total_actual) / total_actual if total_actual else float("nan")
        ),
        mae=float(np.abs(error).mean()),
        rmse=float(np.sqrt((error**2).mean())),
        auc=auc,
        auc_reason=None if auc is not None else "every customer is in one class (bought / not)",
    )


def calibration_vs_holdout(
    model: TransactionModel[Any], summary: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency (last row: max+)."""
    x = _columns(summary, ("frequency",))[0]
    frame = pd.DataFrame(
        {
            "frequency": np.minimum(x, max_frequency).astype(np.int64),
            "actual": _columns(summary, ("frequency_holdout",))[0],
            "predicted": predict_holdout(model, summary),
        }
    )
    table = frame.groupby("frequency").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    table.index = [str(i) if i < max_frequency else f"{max_frequency}+" for i in table.index]
    table.index.name = "calibration_frequency"
    return table


def period_transactions(
    model: TransactionModel[Any], frequency: Any, T: Any, max_frequency: int = 7
) -> pd.DataFrame:
    """Customers by number of repeat purchases in calibration: actual against expected.

    Expected counts are Σ_i P(X(T_i) = k) over customers (exact, no simulation); the last row
    collects k >= max_frequency.
    """
    x = np.asarray(frequency, dtype=np.float64)
    ages, counts = np.unique(np.asarray(T, dtype=np.float64), return_counts=True)
    ks = np.arange(max_frequency)
    probs = model.probability_of_n_purchases_up_to_time(ages[:, None], ks[None, :])
    expected = counts @ probs
    labels = [str(k) for k in ks] + [f"{max_frequency}+"]
    actual = np.bincount(np.minimum(x, max_frequency).astype(np.int64), minlength=max_frequency + 1)
    return pd.DataFrame(
        {"actual": actual, "expected": [*expected, counts.sum() - expected.sum()]},
        index=pd.Index(labels, name="repeat_purchases"),
    )


def tracking(
    model: TransactionModel[Any],
    customer_ids: Any,
    timestamps: Any,
    *,
    start: Any,
    end: Any,
    cohort_end: Any = None,
    time_unit: TimeUnit = "W",
    period: float = 1.0,
    merge_same_day: bool = True,
    timezone: ZoneInfo | None = None,
) -> pd.DataFrame:
    """Repeat transactions per period, actual against the model's expectation (FHL 2005, fig. 3).

    The cohort is every customer whose first transaction falls in [start, cohort_end] (default:
    end); a customer first seen at s contributes E[X(τ - s)] repeat purchases by time τ. Periods
    of `period` time units run from `start` to `end`.
    """
    prepared = prepare_transactions(
        customer_ids, timestamps, merge_same_day=merge_same_day, timezone=timezone
    )
    unit = pd.Timedelta(days=days_per_unit(time_unit))
    origin = prepared.at(start, "start")
    horizon = (prepared.at(end, "end") - origin) / unit
    limit = horizon
    if cohort_end is not None:
        limit = (prepared.at(cohort_end, "cohort_end") - origin) / unit
    frame = prepared.frame[prepared.frame["ts"] <= origin + horizon * unit]
    since_start = ((frame["ts"] - origin) / unit).to_numpy(dtype=np.float64)
    is_first = ~frame["customer_id"].duplicated().to_numpy()
    first_at = since_start[is_first]
    in_cohort = (first_at >= 0) & (first_at <= limit)
    member = np.repeat(in_cohort, np.diff(np.append(np.flatnonzero(is_first), len(frame))))
    firsts, sizes = np.unique(first_at[in_cohort], return_counts=True)
    edges = np.append(np.arange(0.0, horizon, period), horizon)
    since = np.maximum(edges[None, :] - firsts[:, None], 0.0)
    expected_cum = sizes @ model.expected_purchases_new_customer(since)
    actual = np.histogram(since_start[member & ~is_first], bins=edges)[0]
    return pd.DataFrame(
        {
            "period_start": edges[:-1],
            "actual": actual,
            "expected": np.diff(expected_cum),
            "cumulative_actual": np.cumsum(actual),
            "cumulative_expected": expected_cum[1:],
        }
    )
