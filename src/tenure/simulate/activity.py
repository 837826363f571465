"""Purchase (BG/NBD) and browsing processes: who starts a session when, and which buy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tenure.simulate.calendar import HOURS_PER_WEEK, Calendar
from tenure.simulate.campaign import CampaignTruth, add_campaign_orders
from tenure.simulate.config import SimulationConfig
from tenure.simulate.population import Population, Visitors

Array = npt.NDArray[Any]

# Session kinds.
PRE_SIGNUP, SIGNUP, BROWSE, PURCHASE, VISIT, GUEST = range(6)
# Sessions last < 2 h (gaps are capped), so starting before end - 2 h keeps data in the period.
END_MARGIN_H = 2.0
PRE_SIGNUP_GAP_H = 4.0
PRE_SIGNUP_MEAN_H = 72.0
VISITOR_REPEAT_MEAN = 0.7
VISITOR_RETURN_MEAN_H = 7 * 24.0
GUEST_DELAY_MEAN_H = 48.0


@dataclass(frozen=True)
class Activity:
    """Sessions of one block plus the orders ("slots") placed in purchase sessions."""

    kind: Array  # int64 session kind
    entity: Array  # users 0..n-1, visitors n..n+m-1
    start_h: Array  # hours since start; NaN for signup sessions (they end at signup)
    slot: Array  # order slot of purchase sessions, else -1
    slot_entity: Array
    slot_value: Array  # latent order value (currency units)
    n_orders: Array  # per user
    dropped: Array  # per user: dropped out after their last order
    campaign: CampaignTruth | None = None


def _within_rank(owner: Array, counts: Array) -> Array:
    """Position of each element inside its owner's run (owner sorted, runs of counts)."""
    first = np.cumsum(counts) - counts
    return np.arange(owner.size) - first[owner]


def purchase_process(
    rng: np.random.Generator,
    cal: Calendar,
    pop: Population,
    t_end: float,
    config: SimulationConfig | None = None,
    crng: np.random.Generator | None = None,
) -> tuple[Array, Array, Array, Array, CampaignTruth | None]:
    """BG/NBD purchases: Poisson(λ · season) while alive, dropout w.p. p after each purchase.

    The number of purchases before dropout is Geometric(p); the purchase times are the first
    of the candidate points of the seasonal Poisson process in [signup, end]. With a campaign
    in config (and its stream crng), treated users get extra candidates in the window.
    Returns the owner and start time of each purchase session, orders per user, the dropout
    flag and the campaign truth (None without a campaign).
    """
    n = pop.rate.size
    exposure = cal.integral(pop.signup_h, np.full(n, t_end))
    n_cand = rng.poisson(pop.rate / HOURS_PER_WEEK * exposure)
    survive = rng.geometric(pop.dropout_p)
    owner = np.repeat(np.arange(n), n_cand)
    times = cal.sample_in_windows(rng, pop.signup_h[owner], np.full(owner.size, t_end))
    order = np.lexsort((times, owner))
    times = times[order]
    truth = None
    if config is not None and config.campaign is not None and crng is not None:
        owner, times, n_cand, truth = add_campaign_orders(
            crng, config.campaign, config, cal, pop, owner, times, n_cand, survive, t_end
        )
    keep = _within_rank(owner, n_cand) < survive[owner]
    n_orders = np.minimum(n_cand, survive).astype(np.int64)
    dropped = survive <= n_cand
    return owner[keep], times[keep], n_orders, dropped, truth


def simulate_activity(
    rng: np.random.Generator,
    config: SimulationConfig,
    cal: Calendar,
    pop: Population,
    vis: Visitors,
    crng: np.random.Generator | None = None,
) -> Activity:
    """Draw every session of a block's users and visitors, in a fixed kind order."""
    n, m = pop.rate.size, vis.first_h.size
    users = np.arange(n)
    t_end = cal.hours - END_MARGIN_H
    p_owner, p_start, n_orders, dropped, campaign = purchase_process(
        rng, cal, pop, t_end, config, crng
    )

    # Browsing stops at dropout (its last purchase) except for rare returns afterwards.
    last = np.cumsum(n_orders) - 1
    alive_end = np.full(n, t_end)
    alive_end[dropped] = p_start[last[dropped]]
    browse = config.browse_base_per_week + config.browse_per_purchase * pop.rate
    browse = browse * pop.engagement / HOURS_PER_WEEK
    n_alive = rng.poisson(browse * cal.integral(pop.signup_h, alive_end))
    n_after = rng.poisson(
        browse * config.post_dropout_browse * cal.integral(alive_end, np.full(n, t_end))
    )
    b_owner = np.concatenate([np.repeat(users, n_alive), np.repeat(users, n_after)])
    lo = np.concatenate(
        [pop.signup_h[np.repeat(users, n_alive)], alive_end[np.repeat(users, n_after)]]
    )
    hi = np.concatenate([alive_end[np.repeat(users, n_alive)], np.full(n_after.sum(), t_end)])
    b_start = cal.sample_in_windows(rng, lo, hi)

    n_pre = rng.poisson(config.pre_signup_sessions, n)
    pre_owner = np.repeat(users, n_pre)
    pre_start = (
        pop.signup_h[pre_owner]
        - PRE_SIGNUP_GAP_H
        - rng.exponential(PRE_SIGNUP_MEAN_H, pre_owner.size)
    )
    pre_ok = pre_start >= 0
    pre_owner, pre_start = pre_owner[pre_ok], pre_start[pre_ok]

    n_visits = 1 + rng.poisson(VISITOR_REPEAT_MEAN, m)
    v_owner = np.repeat(np.arange(m), n_visits)
    returning = _within_rank(v_owner, n_visits) > 0
    v_start = vis.first_h[v_owner] + returning * rng.exponential(
        VISITOR_RETURN_MEAN_H, v_owner.size
    )
    v_ok = v_start <= t_end
    v_owner, v_start = v_owner[v_ok], v_start[v_ok]

    # Guest checkouts are drawn relative to registered orders to hit the configured share.
    n_reg = int(n_orders.sum())
    share = config.guest_order_share
    n_guest = int(rng.binomial(n_reg, share / (1 - share))) if m and n_reg else 0
    g_owner = rng.integers(0, m, n_guest) if n_guest else np.zeros(0, dtype=np.int64)
    g_start = vis.first_h[g_owner] + rng.exponential(GUEST_DELAY_MEAN_H, n_guest)
    g_start = np.where(g_start > t_end, vis.first_h[g_owner], g_start)

    user_value = rng.gamma(config.gg_p, 1.0 / pop.nu[p_owner])
    g_spend_mult = np.array([c.spend_multiplier for c in config.channels])[vis.channel[g_owner]]
    g_nu = rng.gamma(config.gg_q, 1.0 / config.gg_gamma, n_guest) / g_spend_mult
    guest_value = rng.gamma(config.gg_p, 1.0 / g_nu) if n_guest else np.zeros(0)

    parts = [
        (PRE_SIGNUP, pre_owner, pre_start),
        (SIGNUP, users, np.full(n, np.nan)),
        (BROWSE, b_owner, b_start),
        (PURCHASE, p_owner, p_start),
        (VISIT, v_owner + n, v_start),
        (GUEST, g_owner + n, g_start),
    ]
    kind = np.concatenate([np.full(o.size, k, dtype=np.int64) for k, o, _ in parts])
    entity = np.concatenate([o for _, o, _ in parts]).astype(np.int64)
    start_h = np.concatenate([s for _, _, s in parts]).astype(np.float64)
    slot = np.full(kind.size, -1, dtype=np.int64)
    is_order = (kind == PURCHASE) | (kind == GUEST)
    slot[is_order] = np.arange(int(is_order.sum()))
    return Activity(
        kind=kind,
        entity=entity,
        start_h=start_h,
        slot=slot,
        slot_entity=entity[is_order],
        slot_value=np.concatenate([user_value, guest_value]),
        n_orders=n_orders,
        dropped=dropped,
        campaign=campaign,
    )
