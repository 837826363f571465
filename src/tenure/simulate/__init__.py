"""Realistic e-commerce shop simulator with ground truth, deterministic by seed.

Model
-----
* Acquisition: users sign up through channels (organic, paid_search, social, email, referral,
  affiliate), each with a share of signups, a cost per acquisition (CAC) and a customer
  quality (multipliers on purchase rate, dropout probability and order value). Signup times
  follow an hourly intensity = diurnal × weekly (weekend uplift) × yearly (December peak,
  Black Friday and pre-Christmas bumps) × a linear growth trend.
* Purchases (BG/NBD): λ ~ Gamma(r, alpha) purchases/week, p ~ Beta(a, b), both scaled by the
  channel. While alive, purchases follow a Poisson process with rate λ × seasonality (drawn
  exactly by inverting the cumulative intensity); after each purchase the user drops out
  with probability p, so purchases before dropout ~ Geometric(p). Users who have not bought
  are alive by construction (as in BG/NBD). dropout_at is the time of the last order.
* Spend (Gamma-Gamma): ν ~ Gamma(q, rate gamma) per user, order value ~ Gamma(p, rate ν);
  mean_spend = p / ν. The value becomes a basket of 1-5 lines: each line picks among a few
  candidates (favourite category or bestsellers) the product priced closest to value/lines;
  each later line is, with probability 1/2, a "bought together" partner of the first
  product: one of its three planted partners, picked uniformly (two of its own category and
  one of a complementary category, e.g. shoes for apparel, each drawn by popularity). Baskets
  therefore match the latent value only roughly (catalogue prices are discrete).
* Sessions: every purchase happens in a session view → add → checkout → order. Browsing
  sessions without purchase happen while alive at rate base + k·λ (times a per-user
  engagement), rarely after dropout; their funnel drops off (add to cart, abandoned
  checkout). Visitors browse anonymously before signing up ("Signed Up" links anonymous_id
  and user_id), some visitors never sign up and a few of them buy as guests (user_id null).
* Refunds: a share of orders gets a refund document a few days later ("R" + order id,
  status "refunded", the same lines with negative quantities) and an "Order Refunded" event.
* Acquisition spend per day and channel = CAC × signups × mean-one lognormal noise.
* Campaign (optional, CampaignSpec): on a day, treated users' purchase rate is multiplied in a
  window by 1 + base_lift × factor(stage by recency); truth/campaign_truth.parquet holds the
  assignment, the multiplier and the expected incremental orders (see CampaignSpec).

Ground truth (truth/)
---------------------
* users.parquet: each user's latent purchase rate, dropout p and time, mean spend, orders.
* params.json: the configuration and what was generated (visitors, events, orders, refunds).
* item_partners.parquet: every item's planted partners (sku, partner_sku, kind
  "same_category" | "complement", rank 1-2 same category, 3 complement); a partner drawn into
  both same-category slots is listed once, at rank 1. Depends on seed and items only.
* campaign_truth.parquet: only with a campaign (see above).

Determinism: users are simulated in fixed blocks of BLOCK_USERS, each with its own random
stream seeded from (seed, block index), and ids are assigned by running counters in block
order. Output is therefore identical for any chunk_users (only Parquet row groups differ)
for the same numpy version. Events are sorted by time within each block, not globally.
"""

from tenure.simulate.config import (
    BLOCK_USERS,
    DEFAULT_CHANNELS,
    CampaignSpec,
    ChannelSpec,
    SimulationConfig,
    SimulationSummary,
)
from tenure.simulate.simulator import simulate_shop

__all__ = [
    "BLOCK_USERS",
    "DEFAULT_CHANNELS",
    "CampaignSpec",
    "ChannelSpec",
    "SimulationConfig",
    "SimulationSummary",
    "simulate_shop",
]
