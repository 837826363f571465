"""Per-user lifecycle thresholds from the BG/NBD model and each user's own purchase rhythm."""

from __future__ import annotations

import math
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.features import order_rows
from tenure.errors import BadRequest

WEEK = 7.0


class LifecycleModelError(BadRequest):
    """The orders cannot support a model fit."""

    code = "lifecycle_model_failed"


def silence_until_p_alive(
    params: dict[str, float], frequency: np.ndarray, recency: np.ndarray, level: float
) -> np.ndarray:
    """Weeks without a purchase after which BG/NBD's P(alive) drops below `level`.

    From Fader, Hardie & Lee (2008), P(alive) = 1 / (1 + a/(b+x-1) ((α+T)/(α+t_x))^(r+x)) for
    x > 0, which falls as T grows; solving P(alive) = level for T gives
    T* = (α+t_x) (((1-level)/level) (b+x-1)/a)^(1/(r+x)) - α. Without repeat purchases
    P(alive) is 1 for ever (infinity here).
    """
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    x = frequency.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ((1 - level) / level) * (b + x - 1) / a
        t_star = (alpha + recency) * np.power(ratio, 1.0 / (r + x)) - alpha
        silence = np.maximum(t_star - recency, 0.0)
    return np.where(x > 0, silence, np.inf)


def model_thresholds(
    con: BaseBackend,
    zone: ZoneInfo,
    end: date,
    *,
    at_risk_p: float,
    churn_p: float,
    at_risk_gaps: float,
    churn_gaps: float,
    fallback: tuple[int, int],
) -> pd.DataFrame:
    """(user_id, at_risk_days, churn_days, p_alive): the earlier of the model and rhythm limits.

    The rhythm limit is a multiple of the user's mean days between order days (the median of
    repeat buyers for one-time buyers). Fixed `fallback` days apply when no one has repeated.
    """
    # scipy loads here, not with the CLI: most commands never fit a model.
    from tenure.predict.clv import BGNBD, summary_from_transactions
    from tenure.predict.clv.inputs import InvalidInput

    orders = order_rows(con, zone, end).filter(lambda o: o.status == "paid")
    frame = orders.select("user_id", "ts").execute()
    if frame.empty:
        return pd.DataFrame(columns=["user_id", "at_risk_days", "churn_days", "p_alive"])
    summary = summary_from_transactions(
        frame.user_id, frame.ts, observation_end=end, time_unit="W", timezone=zone
    )
    x = summary.frequency.to_numpy()
    t_x = summary.recency.to_numpy()
    age = summary["T"].to_numpy()
    gaps = np.where(x > 0, t_x * WEEK / np.maximum(x, 1), np.nan)
    typical = float(np.nanmedian(gaps)) if np.isfinite(gaps).any() else math.nan
    gaps = np.where(np.isnan(gaps), typical, gaps)
    risk = np.floor(at_risk_gaps * gaps)
    churn = np.floor(churn_gaps * gaps)
    p_alive = np.ones(len(x))
    if (x > 0).sum() >= 2:
        try:
            model = BGNBD().fit(x, t_x, age)
        except InvalidInput as exc:
            raise LifecycleModelError(column=exc.column, reason=exc.reason) from None
        params = model.params_.as_dict()
        p_alive = model.conditional_probability_alive(x, t_x, age)
        risk = np.fmin(risk, np.floor(WEEK * silence_until_p_alive(params, x, t_x, at_risk_p)))
        churn = np.fmin(churn, np.floor(WEEK * silence_until_p_alive(params, x, t_x, churn_p)))
    risk = np.where(np.isfinite(risk), np.maximum(risk, 1), fallback[0])
    churn = np.where(np.isfinite(churn), churn, fallback[1])
    churn = np.maximum(churn, risk + 1)  # churned always lies beyond at risk
    return pd.DataFrame(
        {
            "user_id": summary.index.astype(str),
            "at_risk_days": risk.astype("int64"),
            "churn_days": churn.astype("int64"),
            "p_alive": np.round(p_alive, 4),
        }
    )
