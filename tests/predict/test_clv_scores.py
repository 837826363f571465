"""Per-customer CLV scores agree with lifetimes (the reference implementation) on one shop."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from tenure.config import Settings
from tenure.predict.service import clv_scores, paid_orders
from tenure.storage.warehouse import Warehouse

lifetimes = pytest.importorskip("lifetimes")


def test_p_alive_expected_orders_and_clv_match_lifetimes(churn_shop: Path) -> None:
    with Warehouse(Settings(home=churn_shop)).reader() as con:
        version, values, fits = clv_scores(con, ZoneInfo("UTC"), "USD")
        orders = paid_orders(con)
    orders["day"] = orders.ts.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    orders["amount"] = orders.amount.astype(float)
    end = orders.day.max()
    assert version == str(end.date())
    # lifetimes in days (one transaction per day), converted to weeks like Tenure's fit.
    summary = lifetimes.utils.summary_data_from_transaction_data(
        orders, "user_id", "day", "amount", observation_period_end=end, freq="D"
    )
    summary[["recency", "T"]] /= 7.0
    bgf = lifetimes.BetaGeoFitter().fit(summary.frequency, summary.recency, summary["T"])
    for name in ("r", "alpha", "a", "b"):
        assert fits["bgnbd"][name] == pytest.approx(bgf.params_[name], rel=2e-2)
    expected = pd.DataFrame(
        {
            "p_alive": bgf.conditional_probability_alive(
                summary.frequency, summary.recency, summary["T"]
            ),
            "orders_90d": bgf.conditional_expected_number_of_purchases_up_to_time(
                90 / 7, summary.frequency, summary.recency, summary["T"]
            ),
        },
        index=summary.index.astype(str),
    ).loc[values.index]
    np.testing.assert_allclose(values.p_alive, expected.p_alive, atol=5e-3)
    np.testing.assert_allclose(
        values.expected_orders_90d, expected.orders_90d, rtol=2e-2, atol=1e-3
    )
    assert (values.expected_orders_90d >= values.expected_orders_30d).all()

    repeat = summary[summary.frequency > 0]
    ggf = lifetimes.GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value)
    clv = ggf.customer_lifetime_value(
        bgf,
        summary.frequency,
        summary.recency,
        summary["T"],
        summary.monetary_value,
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    clv.index = clv.index.astype(str)
    ours = values.clv_minor / 100.0
    np.testing.assert_allclose(ours, clv.loc[values.index], rtol=3e-2, atol=0.02)
    assert values.clv_minor.dtype == np.int64 and (values.currency == "USD").all()


def test_an_amount_the_fit_could_not_give_stays_missing() -> None:
    from tenure.predict.service import _minor_units

    assert list(_minor_units([1.234, 2.0], 100)) == [123, 200]
    gaps = _minor_units([1.0, float("nan"), float("inf")], 100)
    assert gaps[0] == 100 and gaps[1] is pd.NA and gaps[2] is pd.NA
