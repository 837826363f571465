"""Fitting the CLV models on the warehouse's orders (what `tenure predict clv` runs)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any, Literal

import pandas as pd
from ibis.backends import BaseBackend

from tenure.errors import BadRequest
from tenure.predict.clv import (
    BGNBD,
    GammaGamma,
    ParetoNBD,
    holdout_metrics,
    summary_from_transactions,
)
from tenure.predict.clv.inputs import InvalidInput

ModelName = Literal["bgnbd", "paretonbd", "gammagamma"]


class ClvInputError(BadRequest):
    """The orders cannot support the requested fit."""

    code = "clv_invalid_input"


def paid_orders(con: BaseBackend) -> pd.DataFrame:
    """Customer, time and amount of every paid order of a known customer."""
    orders = con.table("orders")
    orders = orders.filter(orders.user_id.notnull() & (orders.status == "paid"))
    return orders.select("user_id", "ts", "amount").execute()


def fit_clv(
    con: BaseBackend,
    model: ModelName,
    zone: str,
    calibration_end: date | None = None,
    observation_end: date | None = None,
) -> dict[str, Any]:
    """Fit one model in weeks on days with orders (same-day orders merged), holdout if split."""
    orders = paid_orders(con)
    if orders.empty:
        raise ClvInputError(column="orders", reason="no paid orders of known customers")
    local_days = orders.ts.dt.tz_convert(zone).dt.date
    end = observation_end or max(local_days)
    try:
        summary = summary_from_transactions(
            orders.user_id,
            orders.ts,
            orders.amount.astype(float),
            observation_end=end,
            calibration_end=calibration_end,
            time_unit="W",
            merge_same_day=True,
            timezone=zone,
        )
        if model == "gammagamma":
            repeat = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
            fitted: Any = GammaGamma().fit(repeat.frequency, repeat.monetary_value)
        else:
            fitted = (BGNBD() if model == "bgnbd" else ParetoNBD()).fit(
                summary.frequency, summary.recency, summary["T"]
            )
    except InvalidInput as exc:
        raise ClvInputError(column=exc.column, reason=exc.reason) from None
    result: dict[str, Any] = {
        "model": model,
        "time_unit": "week",
        "params": {k: round(float(v), 6) for k, v in fitted.params_.as_dict().items()},
        "log_likelihood": round(float(fitted.log_likelihood_), 4),
        "converged": bool(fitted.converged_),
        "customers": len(summary),
        "calibration_end": str(calibration_end or end),
        "observation_end": str(end),
    }
    if calibration_end is not None and model != "gammagamma":
        metrics = asdict(holdout_metrics(fitted, summary))
        result["holdout"] = {
            k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()
        }
    return result
