"""Fitting the CLV models on the warehouse's orders (what `tenure predict clv` runs)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from tenure.analytics.currency import CurrencyScope, currency_scope
from tenure.config import Settings
from tenure.errors import BadRequest
from tenure.kit.money import exponent
from tenure.predict.churn import service as churn_service
from tenure.predict.churn.service import ChurnConfig
from tenure.predict.clv import (
    BGNBD,
    GammaGamma,
    ParetoNBD,
    holdout_metrics,
    summary_from_transactions,
)
from tenure.predict.clv.inputs import InvalidInput
from tenure.predict.scores import frame_values, write_scores
from tenure.storage.warehouse import Warehouse

ModelName = Literal["bgnbd", "paretonbd", "gammagamma"]


class ClvInputError(BadRequest):
    """The orders cannot support the requested fit."""

    code = "clv_invalid_input"


def paid_orders(con: BaseBackend, scope: CurrencyScope | None = None) -> pd.DataFrame:
    """Customer, time and amount of every paid order of a known customer, in one currency.

    Amounts in different currencies are never summed: in a warehouse holding several, only the
    orders in `scope`'s currency (default: the currency of most orders) are read. A one-currency
    warehouse reads every order, as before.
    """
    scope = scope or currency_scope(con)
    orders = scope.only(con.table("orders"))
    orders = orders.filter(orders.user_id.notnull() & (orders.status == "paid"))
    return orders.select("user_id", "ts", "amount").execute()


def fit_clv(
    con: BaseBackend,
    model: ModelName,
    zone: ZoneInfo,
    calibration_end: date | None = None,
    observation_end: date | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """Fit one model in weeks on days with orders (same-day orders merged), holdout if split.

    The orders are those in `currency` (default: the currency of most orders), named in the
    result.
    """
    scope = currency_scope(con, currency)
    orders = paid_orders(con, scope)
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
        "currency": scope.currency,
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


CLV_MODEL = "clv"
CLV_MONTHS = 12
# Monthly discount rate of the CLV sum (lifetimes' default convention).
CLV_DISCOUNT = 0.01


def clv_scores(
    con: BaseBackend,
    zone: ZoneInfo,
    currency: str | None = None,
    observation_end: date | None = None,
) -> tuple[str, pd.DataFrame, dict[str, Any]]:
    """Per customer: P(alive), expected orders in 30/90 days (BG/NBD), 12-month CLV (Gamma-Gamma).

    Fitted on the orders in `currency` (default: the currency of most orders), and labelled with
    it: in a warehouse holding several currencies, the others' orders are left out. Returns the
    score version (the fitted parameters' observation end), the values and the fits.
    """
    scope = currency_scope(con, currency)
    orders = paid_orders(con, scope)
    if orders.empty:
        raise ClvInputError(column="orders", reason="no paid orders of known customers")
    if scope.currency is None:
        raise ClvInputError(column="currency", reason="the orders carry no currency")
    label = scope.currency
    end = observation_end or max(orders.ts.dt.tz_convert(zone).dt.date)
    try:
        summary = summary_from_transactions(
            orders.user_id,
            orders.ts,
            orders.amount.astype(float),
            observation_end=end,
            time_unit="W",
            merge_same_day=True,
            timezone=zone,
        )
        x, t_x, age = summary.frequency, summary.recency, summary["T"]
        bgnbd = BGNBD().fit(x, t_x, age)
        repeat = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
        spend = GammaGamma().fit(repeat.frequency, repeat.monetary_value)
    except InvalidInput as exc:
        raise ClvInputError(column=exc.column, reason=exc.reason) from None
    monetary = summary.monetary_value.clip(lower=0.0)
    clv = spend.customer_lifetime_value(
        bgnbd, x, t_x, age, monetary, months=CLV_MONTHS, discount_rate=CLV_DISCOUNT
    )
    scale = 10 ** exponent(label)
    values = pd.DataFrame(index=summary.index.astype(str))
    values.index.name = "user_id"
    values["p_alive"] = np.round(bgnbd.conditional_probability_alive(x, t_x, age), 4)
    values["expected_orders_30d"] = np.round(bgnbd.expected_purchases(30 / 7, x, t_x, age), 4)
    values["expected_orders_90d"] = np.round(bgnbd.expected_purchases(90 / 7, x, t_x, age), 4)
    values["expected_spend_minor"] = _minor_units(
        spend.conditional_expected_average_profit(x, monetary), scale
    )
    values["clv_minor"] = _minor_units(clv, scale)
    values["currency"] = label
    values["clv_months"] = CLV_MONTHS
    values["as_of"] = str(end)
    fits = {
        "bgnbd": {k: round(float(v), 6) for k, v in bgnbd.params_.as_dict().items()},
        "gammagamma": {k: round(float(v), 6) for k, v in spend.params_.as_dict().items()},
    }
    return str(end), values, fits


def _minor_units(amounts: Any, scale: int) -> Any:
    """Money as integer minor units; a value the fit could not give (NaN, inf) stays missing
    rather than becoming a garbage integer."""
    values = np.round(np.asarray(amounts, dtype=np.float64) * scale)
    if np.isfinite(values).all():
        return values.astype(np.int64)
    # An extension array: assigned to the score frame by position, with <NA> for the gaps.
    return pd.Series(values).where(np.isfinite(values)).astype("Int64").array


def score_clv(
    warehouse: Warehouse,
    zone: ZoneInfo,
    currency: str | None = None,
    observation_end: date | None = None,
) -> dict[str, Any]:
    """Fit BG/NBD and Gamma-Gamma on the orders in one currency (default: the currency of most
    orders) and write one `clv` score row per customer, labelled with that currency."""
    with warehouse.reader() as con:
        version, values, fits = clv_scores(con, zone, currency, observation_end)
    with warehouse.writer() as writer:
        written = write_scores(writer, CLV_MODEL, version, frame_values(values))
    return {
        "model": CLV_MODEL,
        "version": version,
        "written": written,
        "currency": str(values["currency"].iloc[0]),  # clv_scores fits at least one customer
        "params": fits,
    }


def train_churn(
    settings: Settings, warehouse: Warehouse, config: ChurnConfig, as_of: date | None = None
) -> dict[str, Any]:
    """Train and store a new churn model version on the warehouse's orders and events."""
    with warehouse.reader() as con:
        return churn_service.train(con, settings.zone, settings.home, config, as_of)


def score_churn(
    settings: Settings,
    warehouse: Warehouse,
    *,
    as_of: date | None = None,
    version: str | None = None,
    write: bool = True,
) -> tuple[str, pd.DataFrame]:
    """Score every customer with a stored churn model; write `churn` rows unless told not to."""
    with warehouse.reader() as con:
        version, values = churn_service.score(con, settings.zone, settings.home, as_of, version)
    if write and not values.empty:
        with warehouse.writer() as writer:
            write_scores(writer, churn_service.MODEL_NAME, version, frame_values(values))
    return version, values


def retrain_churn(settings: Settings, warehouse: Warehouse) -> dict[str, Any]:
    """Retrain with the newest model's churn definition and rescore everyone (the weekly job).

    `ranker` says where the written scores come from: the model, or the baseline that ranked
    better on the last window (see `churn_service.train`).
    """
    config = churn_service.config_of_latest(settings.home)
    trained = train_churn(settings, warehouse, config)
    version, values = score_churn(settings, warehouse, version=str(trained["version"]))
    return {
        "version": version,
        "horizon_days": config.horizon_days,
        "training_rows": trained["training_rows"],
        "ranker": trained["ranker"],
        "scored": len(values),
    }
