"""BG/NBD next-order quantities against a Monte Carlo of the model's own posterior."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.predict.churn.btyd import (
    History,
    btyd_columns,
    history,
    median_weeks_to_next_order,
    p_order_within,
)
from tenure.predict.clv import BGNBD, BGNBDParams

PARAMS = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)  # CDNOW, Fader et al. 2005


def fitted() -> BGNBD:
    model = BGNBD()
    model.params_ = PARAMS
    return model


def simulate_next_order(x: float, t_x: float, age: float, n: int, seed: int = 1) -> np.ndarray:
    """Weeks to the next order: alive with P(alive), then λ ~ Gamma(r + x, rate α + T)."""
    rng = np.random.default_rng(seed)
    alive_p = float(fitted().conditional_probability_alive(x, t_x, age))
    alive = rng.random(n) < alive_p
    rate = rng.gamma(PARAMS.r + x, 1.0 / (PARAMS.alpha + age), n)
    wait = rng.exponential(1.0 / rate)
    return np.where(alive, wait, np.inf)


@pytest.mark.parametrize(("x", "t_x", "age"), [(4, 30.0, 32.0), (2, 10.0, 12.0), (6, 38.0, 39.0)])
def test_probability_of_an_order_within_a_window_matches_simulation(
    x: float, t_x: float, age: float
) -> None:
    data = History(np.array([float(x)]), np.array([t_x]), np.array([age]))
    draws = simulate_next_order(x, t_x, age, 200_000)
    for weeks in (4.0, 13.0, 39.0):
        expected = float(np.mean(draws <= weeks))
        assert p_order_within(fitted(), data, weeks)[0] == pytest.approx(expected, abs=0.005)


def test_median_wait_matches_simulation_and_is_missing_when_unlikely() -> None:
    likely = (6.0, 38.0, 39.0)
    data = History(*(np.array([v]) for v in likely))
    draws = simulate_next_order(*likely, 200_000)
    assert median_weeks_to_next_order(fitted(), data)[0] == pytest.approx(
        float(np.median(draws)), rel=0.03
    )
    lapsed = History(np.array([4.0]), np.array([5.0]), np.array([39.0]))
    assert float(fitted().conditional_probability_alive(4.0, 5.0, 39.0)) < 0.5
    assert np.isnan(median_weeks_to_next_order(fitted(), lapsed)[0])


def test_history_counts_repeat_days_in_weeks_up_to_the_cutoff_day() -> None:
    frame = pd.DataFrame({"order_days": [3, 1], "first_day": [100, 120], "last_day": [128, 120]})
    data = history(frame, cutoff_day=135)
    assert data.frequency.tolist() == [2.0, 0.0]
    assert data.recency.tolist() == [4.0, 0.0]
    assert data.T.tolist() == [5.0, 15 / 7]


def test_columns_are_missing_rather_than_wrong_when_bgnbd_cannot_fit() -> None:
    frame = pd.DataFrame({"order_days": [1], "first_day": [10], "last_day": [10]})
    out = btyd_columns(frame, cutoff_day=5, horizon_days=30)  # the cut-off before the order
    assert out.isna().all().all()
