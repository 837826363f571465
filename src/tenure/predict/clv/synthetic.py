"""Synthetic (frequency, recency, T) drawn from a BG/NBD process, vectorised for millions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tenure.predict.clv.bgnbd import BGNBDParams


def simulate_bgnbd(
    n_customers: int,
    params: BGNBDParams,
    *,
    max_age: float = 52.0,
    resolution: float | None = 1 / 7,
    seed: int = 0,
) -> pd.DataFrame:
    """Customers of a BG/NBD process observed for T ~ uniform(0, max_age] time units.

    λ ~ Gamma(r, rate alpha), p ~ Beta(a, b); while alive, purchases are Poisson(λ) and after
    each repeat purchase the customer drops out with probability p (Fader, Hardie & Lee 2005,
    section 2). So repeat purchases before dropout K ~ Geometric(p), purchases in [0, T] if
    alive N ~ Poisson(λT), x = min(K, N), and the x-th of N uniform times gives
    t_x = T · Beta(x, N - x + 1). With `resolution` (a day, when the unit is a week) T and t_x
    are whole steps, as in transaction data summarised per day.
    """
    rng = np.random.default_rng(seed)
    if resolution is None:
        age = rng.uniform(0.0, max_age, n_customers)
        age = np.where(age > 0, age, max_age)
    else:
        steps = max(round(max_age / resolution), 1)
        age = rng.integers(1, steps + 1, n_customers).astype(np.float64) * resolution
    rate = rng.gamma(params.r, 1.0 / params.alpha, n_customers)
    dropout = rng.beta(params.a, params.b, n_customers)
    lifetime_purchases = rng.geometric(np.maximum(dropout, 1e-300))
    in_window = rng.poisson(rate * age)
    x = np.minimum(lifetime_purchases, in_window)
    recency = np.zeros(n_customers)
    bought = x > 0
    recency[bought] = age[bought] * rng.beta(x[bought], in_window[bought] - x[bought] + 1)
    if resolution is not None:
        recency = np.minimum(np.round(recency / resolution) * resolution, age)
    return pd.DataFrame({"frequency": x.astype(np.int64), "recency": recency, "T": age})
