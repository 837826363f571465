"""Campaign with a known heterogeneous effect: assignment, stages, boosted orders and truth."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import poisson

from tenure.simulate.calendar import HOURS_PER_WEEK, Calendar
from tenure.simulate.config import CAMPAIGN_STAGES, CampaignSpec, SimulationConfig
from tenure.simulate.population import Population

Array = npt.NDArray[Any]

STREAM_CAMPAIGN = 4
NOT_SIGNED_UP, NEVER_BOUGHT, ACTIVE, AT_RISK, LAPSED = range(len(CAMPAIGN_STAGES))


@dataclass(frozen=True)
class CampaignTruth:
    """Per-user campaign ground truth of one block (arrays of length n)."""

    treated: Array  # bool
    stage: Array  # int64 index into CAMPAIGN_STAGES
    multiplier: Array  # true rate multiplier if treated (1 where not eligible)
    expected_control: Array  # E[orders in the window] without the campaign
    expected_incremental: Array  # E[orders in the window | treated] - expected_control


def campaign_rng(config: SimulationConfig, index: int) -> np.random.Generator:
    """The campaign's own random stream of block `index` (the block stream stays untouched)."""
    return np.random.default_rng(np.random.SeedSequence([config.seed, STREAM_CAMPAIGN, index]))


def window_hours(spec: CampaignSpec, config: SimulationConfig, t_end: float) -> tuple[float, float]:
    """Campaign window [lo, hi) in hours since the period start, clipped to the period."""
    lo = (spec.day - config.start).days * 24.0
    return lo, min(lo + spec.duration_days * 24.0, t_end)


def _expected_min(mu: Array, remaining: Array) -> Array:
    """E[min(N, R)] for N ~ Poisson(mu) and known R: sum over j < R of P(N > j)."""
    if mu.size == 0:
        return np.zeros(0)
    top = float(mu.max())
    j_max = int(min(remaining.max(initial=0), math.ceil(top + 12 * math.sqrt(top) + 30)))
    j = np.arange(j_max)
    sf = poisson.sf(j[None, :], mu[:, None])
    return np.asarray((sf * (j[None, :] < remaining[:, None])).sum(axis=1), dtype=np.float64)


def add_campaign_orders(
    crng: np.random.Generator,
    spec: CampaignSpec,
    config: SimulationConfig,
    cal: Calendar,
    pop: Population,
    owner: Array,
    times: Array,
    n_cand: Array,
    survive: Array,
    t_end: float,
) -> tuple[Array, Array, Array, CampaignTruth]:
    """Add the extra candidate purchases of treated users and compute the campaign truth.

    owner/times are the no-campaign candidate purchases sorted by (owner, time). A treated
    user's boosted process is the superposition of that process and an independent Poisson
    process with rate (multiplier - 1) × λ × season in the window, drawn from crng; control
    users and every purchase before the window keep exactly the no-campaign draws. Returns the
    merged candidates (sorted by owner, time), candidates per user and the truth.
    """
    n = pop.rate.size
    lo, hi = window_hours(spec, config, t_end)
    treated = crng.random(n) < spec.treated_share

    # Stage from the orders placed before the window (unchanged by the campaign).
    before = times < lo
    cand_before = np.bincount(owner[before], minlength=n)
    first = np.cumsum(n_cand) - n_cand
    rank = np.arange(owner.size) - first[owner]
    kept_before = before & (rank < survive[owner])
    last_h = np.full(n, -np.inf)
    np.maximum.at(last_h, owner[kept_before], times[kept_before])
    recency_days = (lo - last_h) / 24.0
    stage = np.select(
        [pop.signup_h >= lo, np.isinf(last_h), recency_days <= spec.active_days],
        [NOT_SIGNED_UP, NEVER_BOUGHT, ACTIVE],
        np.where(recency_days <= spec.lapsed_days, AT_RISK, LAPSED),
    ).astype(np.int64)
    multiplier = 1.0 + spec.base_lift * np.array(spec.factors)[stage]

    eligible = stage != NOT_SIGNED_UP
    mu0 = np.where(
        eligible, pop.rate / HOURS_PER_WEEK * cal.integral(np.full(n, lo), np.full(n, hi)), 0.0
    )
    # Purchases still possible at the window start: survive counts all purchases ever made.
    remaining = np.where(eligible, np.maximum(survive - cand_before, 0), 0)
    expected_control = _expected_min(mu0, remaining)
    expected_incremental = _expected_min(mu0 * multiplier, remaining) - expected_control

    n_extra = crng.poisson(np.where(treated, mu0 * (multiplier - 1.0), 0.0))
    extra_owner = np.repeat(np.arange(n), n_extra)
    extra_times = cal.sample_in_windows(
        crng, np.full(extra_owner.size, lo), np.full(extra_owner.size, hi)
    )
    owner = np.concatenate([owner, extra_owner])
    times = np.concatenate([times, extra_times])
    order = np.lexsort((times, owner))
    truth = CampaignTruth(treated, stage, multiplier, expected_control, expected_incremental)
    return owner[order], times[order], n_cand + n_extra, truth
