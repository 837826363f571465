"""Metrics kept in the operational database, not the warehouse: loyalty points redeemed and
the discount offers gave at checkout, per unit over its window after exposure.

The loyalty and promotions services hand over (user, time, amount) rows for the span of every
unit's window; each unit's window sums are taken here in pandas and reduced to the same
per-variant sums as the warehouse metrics (`metrics.Sums`), CUPED's pre-exposure value
included, so the statistics cannot tell the two kinds apart.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from tenure.experiments.metrics import DAY_US, Sums
from tenure.experiments.spec import Metric
from tenure.kit.money import exponent
from tenure.loyalty.service import points_spent
from tenure.promotions.coupons.service import discounts_given
from tenure.storage.database import Database


def _instant(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, tz=UTC)


def _rows(
    session: Session, metric: Metric, since: datetime, until: datetime, currency: str | None
) -> pd.DataFrame:
    if metric.kind == "points_redeemed":
        found = points_spent(session, since, until)
        scale = 1.0
    else:
        found = discounts_given(session, since, until, currency) if currency else []
        scale = float(10 ** exponent(currency)) if currency else 1.0
    frame = pd.DataFrame(found, columns=["unit", "at", "amount"])
    epoch = pd.Timestamp(0, tz="UTC")
    # Whatever resolution pandas picked for the times, as whole microseconds since the epoch.
    frame["us"] = ((pd.to_datetime(frame["at"], utc=True) - epoch) // pd.Timedelta(1, "us")).astype(
        "int64"
    )
    frame["amount"] = frame["amount"].astype(float) / scale
    return frame[["unit", "us", "amount"]]


def _window_sums(units: pd.DataFrame, rows: pd.DataFrame, lo: int, hi: int) -> np.ndarray:
    joined = units[["unit", "first_us"]].merge(rows, on="unit")
    rel = joined["us"] - joined["first_us"]
    inside = joined[(rel >= lo) & (rel < hi)]
    per_unit = inside.groupby("unit")["amount"].sum()
    return units["unit"].map(per_unit).fillna(0.0).to_numpy(dtype=float)


def statistics(
    database: Database,
    units: pd.DataFrame,
    metric: Metric,
    currency: str | None,
    cuped_days: int,
) -> list[Sums]:
    """The metric's sums per variant over `units` (unit, variant, first_us)."""
    hi = metric.window_days * DAY_US
    lo_pre = -cuped_days * DAY_US
    since = _instant(int(units["first_us"].min()) + lo_pre)
    until = _instant(int(units["first_us"].max()) + hi)
    rows = database.read(lambda s: _rows(s, metric, since, until, currency))
    x = _window_sums(units, rows, 0, hi)
    c = _window_sums(units, rows, lo_pre, 0) if cuped_days > 0 else None
    out = []
    for variant, index in units.groupby("variant").indices.items():
        xs = x[index]
        covariate: dict[str, float] = {}
        if c is not None:
            cs = c[index]
            covariate = {
                "covariate_sum": float(cs.sum()),
                "covariate_sum_squares": float(np.square(cs).sum()),
                "main_covariate_sum_product": float((xs * cs).sum()),
            }
        out.append(Sums(variant=str(variant), users=len(index), main_sum=float(xs.sum()),
                        main_sum_squares=float(np.square(xs).sum()), **covariate))  # fmt: skip
    return out
