"""BG/NBD quantities per customer at a cut-off: P(alive), P(order in a window), next order.

The model is fitted on the customers' own history before the cut-off (weeks, one transaction
per local day, as in `predict.clv`), so these columns are leakage-free features and the
"BG/NBD P(alive)" baseline of the churn evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tenure.predict.clv import BGNBD
from tenure.predict.clv.inputs import FloatArray, InvalidInput

DAYS_PER_WEEK = 7.0
BTYD_COLUMNS = ("bgnbd_p_alive", "bgnbd_p_order", "bgnbd_expected_orders", "next_order_days")


@dataclass(frozen=True)
class History:
    """BG/NBD inputs in weeks: repeat days x, recency t_x and age T."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray


def history(frame: pd.DataFrame, cutoff_day: int) -> History:
    """Inputs from feature columns order_days, first_day and last_day (local day numbers)."""
    first = frame["first_day"].to_numpy(dtype=np.float64)
    return History(
        frequency=frame["order_days"].to_numpy(dtype=np.float64) - 1.0,
        recency=(frame["last_day"].to_numpy(dtype=np.float64) - first) / DAYS_PER_WEEK,
        T=(cutoff_day - first) / DAYS_PER_WEEK,
    )


def fit_bgnbd(data: History) -> BGNBD | None:
    """A BG/NBD fitted on the histories, or None when they cannot support a fit."""
    try:
        return BGNBD().fit(data.frequency, data.recency, data.T)
    except InvalidInput:
        return None


def p_order_within(model: BGNBD, data: History, weeks: float) -> FloatArray:
    """P(at least one order in the next `weeks`) = P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)).

    Alive at T means alive until the next purchase in BG/NBD (dropout happens only right after
    a purchase), and λ given the history is Gamma(r + x, α + T) (Fader, Hardie & Lee 2005, eq. 5).
    """
    p = model.params_
    alive = model.conditional_probability_alive(data.frequency, data.recency, data.T)
    shape = p.r + data.frequency
    scale = p.alpha + data.T
    return np.asarray(alive * (1.0 - (scale / (scale + weeks)) ** shape), dtype=np.float64)


def median_weeks_to_next_order(model: BGNBD, data: History) -> FloatArray:
    """The median time to the next order in weeks; NaN when P(another order ever) < 1/2.

    Solves P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)) = 1/2 for t.
    """
    p = model.params_
    alive = model.conditional_probability_alive(data.frequency, data.recency, data.T)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = 1.0 - 0.5 / alive
        t = (p.alpha + data.T) * (q ** (-1.0 / (p.r + data.frequency)) - 1.0)
    return np.asarray(np.where(alive > 0.5, t, np.nan), dtype=np.float64)


def btyd_columns(frame: pd.DataFrame, cutoff_day: int, horizon_days: int) -> pd.DataFrame:
    """BTYD_COLUMNS per row of `frame`: P(alive), P(order) and expected orders in the horizon."""
    data = history(frame, cutoff_day)
    model = fit_bgnbd(data)
    out = pd.DataFrame(index=frame.index)
    if model is None:
        for column in BTYD_COLUMNS:
            out[column] = np.nan
        return out
    out["bgnbd_p_alive"] = model.conditional_probability_alive(data.frequency, data.recency, data.T)
    weeks = horizon_days / DAYS_PER_WEEK
    out["bgnbd_p_order"] = p_order_within(model, data, weeks)
    out["bgnbd_expected_orders"] = model.expected_purchases(
        weeks, data.frequency, data.recency, data.T
    )
    out["next_order_days"] = median_weeks_to_next_order(model, data) * DAYS_PER_WEEK
    return out
