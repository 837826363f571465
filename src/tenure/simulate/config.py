"""Configuration, channel table and summary types of the shop simulator."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

# Random streams are seeded per block of this many users, so the data does not depend on
# chunk_users: a chunk is always a whole number of blocks.
BLOCK_USERS = 1_000


@dataclass(frozen=True)
class ChannelSpec:
    """An acquisition channel: its share of signups, cost per signup and customer quality."""

    name: str
    share: float
    cac: Decimal
    rate_multiplier: float
    dropout_multiplier: float
    spend_multiplier: float
    email_opt_in: float


DEFAULT_CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("organic", 0.30, Decimal("0.00"), 1.10, 0.85, 1.00, 0.50),
    ChannelSpec("paid_search", 0.24, Decimal("32.00"), 1.00, 1.00, 1.00, 0.45),
    ChannelSpec("social", 0.18, Decimal("24.00"), 0.65, 1.40, 0.85, 0.40),
    ChannelSpec("email", 0.08, Decimal("4.00"), 1.35, 0.75, 1.05, 0.95),
    ChannelSpec("referral", 0.10, Decimal("18.00"), 1.30, 0.70, 1.10, 0.60),
    ChannelSpec("affiliate", 0.10, Decimal("38.00"), 0.80, 1.25, 0.90, 0.35),
)

# ISO-2 country codes and their share of the customer base.
COUNTRIES: tuple[tuple[str, float], ...] = (
    ("US", 0.38),
    ("GB", 0.12),
    ("DE", 0.10),
    ("FR", 0.07),
    ("CA", 0.07),
    ("AU", 0.05),
    ("NL", 0.04),
    ("ES", 0.04),
    ("IT", 0.04),
    ("SE", 0.03),
    ("PL", 0.03),
    ("BR", 0.03),
)


CAMPAIGN_STAGES = ("not_signed_up", "never_bought", "active", "at_risk", "lapsed")


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign with a known, heterogeneous effect on each customer's purchase rate.

    On `day` every user is assigned to treatment with probability `treated_share` (from a
    random stream of its own, seeded by (seed, block), so assignment is reproducible and the
    no-campaign draws are untouched). During the window [day 00:00 UTC, day + duration_days)
    a treated user's purchase rate λ is multiplied by

        multiplier = 1 + base_lift × factor(stage at the campaign day)

    where the stage comes from the user's orders before the window (recency = days since the
    last order at the window start):

    * never_bought: signed up, no order yet            → factor = never_factor
    * active:       recency ≤ active_days               → factor = active_factor
    * at_risk:      active_days < recency ≤ lapsed_days → factor = at_risk_factor
    * lapsed:       recency > lapsed_days               → factor = lapsed_factor
    * not_signed_up: signup after the window start      → multiplier = 1 (not eligible)

    Only the rate changes: dropout still happens after each purchase with probability p, so
    a user who has already dropped out gains nothing, and the expected incremental orders
    (truth/campaign_truth.parquet) account for that.
    """

    day: date
    treated_share: float = 0.5
    duration_days: int = 28
    base_lift: float = 0.5
    never_factor: float = 0.2
    active_factor: float = 0.5
    at_risk_factor: float = 1.5
    lapsed_factor: float = 2.0
    active_days: float = 30.0
    lapsed_days: float = 90.0

    def __post_init__(self) -> None:
        """Reject campaigns whose effect or assignment is not meaningful."""
        if not 0 < self.treated_share < 1:
            raise ValueError("campaign treated_share must be in (0, 1)")
        if self.duration_days < 1:
            raise ValueError("campaign duration_days must be positive")
        if self.base_lift < 0 or min(self.factors) < 0:
            raise ValueError("campaign base_lift and stage factors must be non-negative")
        if not 0 < self.active_days <= self.lapsed_days:
            raise ValueError("campaign needs 0 < active_days <= lapsed_days")

    @property
    def factors(self) -> tuple[float, ...]:
        """Stage factors in CAMPAIGN_STAGES order (not_signed_up gets none)."""
        return (
            0.0,
            self.never_factor,
            self.active_factor,
            self.at_risk_factor,
            self.lapsed_factor,
        )

    def params(self) -> dict[str, Any]:
        """Campaign parameters as written to truth/params.json."""
        return {
            **asdict(self),
            "day": self.day.isoformat(),
            "stages": list(CAMPAIGN_STAGES),
            "multiplier": "1 + base_lift * factor(stage)",
        }


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that determines a simulated shop; equal configs give identical output."""

    users: int = 5000
    start: date = date(2024, 1, 1)
    days: int = 365
    seed: int = 42
    currency: str = "USD"
    items: int = 500
    chunk_users: int = 50_000
    # BG/NBD population (time unit: week): λ ~ Gamma(r, rate alpha), p ~ Beta(a, b).
    r: float = 0.6
    alpha: float = 8.0
    a: float = 0.8
    b: float = 3.2
    # Gamma-Gamma spend: ν ~ Gamma(q, rate gamma), order value ~ Gamma(p, rate ν).
    gg_p: float = 6.0
    gg_q: float = 4.0
    gg_gamma: float = 40.0
    channels: tuple[ChannelSpec, ...] = DEFAULT_CHANNELS
    # Seasonality: weekend uplift, annual cosine peaking in December, Black Friday/Xmas bumps.
    weekly_amplitude: float = 0.25
    yearly_amplitude: float = 0.15
    holiday_amplitude: float = 1.2
    signup_trend: float = 0.3
    # Browsing without purchase (sessions/week while alive) = base + per_purchase × λ.
    browse_base_per_week: float = 0.02
    browse_per_purchase: float = 1.5
    post_dropout_browse: float = 0.05
    pre_signup_sessions: float = 1.0
    anonymous_visitors_per_user: float = 0.5
    add_to_cart_rate: float = 0.30
    checkout_rate: float = 0.40
    guest_order_share: float = 0.02
    refund_rate: float = 0.04
    birthday_missing: float = 0.30
    # Caps the Gamma tail so a single user cannot blow up a chunk's memory.
    max_rate_per_week: float = 10.0
    # Optional campaign with a known effect on purchase rates (None: no campaign).
    campaign: CampaignSpec | None = None

    def __post_init__(self) -> None:
        """Reject configurations that cannot produce a meaningful shop."""
        if self.users < 1 or self.days < 1 or self.chunk_users < 1:
            raise ValueError("users, days and chunk_users must be positive")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        if self.items < 20:
            raise ValueError("items must be at least 20 (every category needs products)")
        if not self.channels or any(c.share <= 0 for c in self.channels):
            raise ValueError("channels must be non-empty with positive shares")
        if len({c.name for c in self.channels}) != len(self.channels):
            raise ValueError("channel names must be unique")
        for name in ("r", "alpha", "a", "b", "gg_p", "gg_q", "gg_gamma"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        for name in (
            "guest_order_share",
            "refund_rate",
            "birthday_missing",
            "add_to_cart_rate",
            "checkout_rate",
        ):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1)")
        if self.campaign is not None and not self.start <= self.campaign.day < self.end:
            raise ValueError("campaign day must lie inside the simulated period")

    @property
    def end(self) -> date:
        """First day after the simulated period (exclusive end)."""
        return self.start + timedelta(days=self.days)

    @property
    def effective_chunk_users(self) -> int:
        """chunk_users rounded up to whole seeding blocks."""
        return max(1, math.ceil(self.chunk_users / BLOCK_USERS)) * BLOCK_USERS

    def params(self) -> dict[str, Any]:
        """Population parameters as written to truth/params.json."""
        params: dict[str, Any] = {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "end_is_exclusive": True,
            "days": self.days,
            "users": self.users,
            "items": self.items,
            "currency": self.currency,
            "block_users": BLOCK_USERS,
            "bgnbd": {
                "r": self.r,
                "alpha": self.alpha,
                "a": self.a,
                "b": self.b,
                "time_unit": "week",
                "max_rate_per_week": self.max_rate_per_week,
            },
            "gammagamma": {
                "p": self.gg_p,
                "q": self.gg_q,
                "gamma": self.gg_gamma,
                "mean_order_value": self.gg_p * self.gg_gamma / (self.gg_q - 1)
                if self.gg_q > 1
                else None,
            },
            "channels": [{**asdict(c), "cac": str(c.cac)} for c in self.channels],
            "seasonality": {
                "weekly_amplitude": self.weekly_amplitude,
                "yearly_amplitude": self.yearly_amplitude,
                "holiday_amplitude": self.holiday_amplitude,
                "signup_trend": self.signup_trend,
            },
            "activity": {
                "browse_base_per_week": self.browse_base_per_week,
                "browse_per_purchase": self.browse_per_purchase,
                "post_dropout_browse": self.post_dropout_browse,
                "pre_signup_sessions": self.pre_signup_sessions,
                "anonymous_visitors_per_user": self.anonymous_visitors_per_user,
                "add_to_cart_rate": self.add_to_cart_rate,
                "checkout_rate": self.checkout_rate,
                "guest_order_share": self.guest_order_share,
                "refund_rate": self.refund_rate,
                "birthday_missing": self.birthday_missing,
            },
        }
        if self.campaign is not None:
            params["campaign"] = self.campaign.params()
        return params


@dataclass(frozen=True)
class SimulationSummary:
    """What simulate_shop wrote; revenue is net of refunds."""

    out_dir: Path
    users: int
    events: int
    orders: int
    order_lines: int
    refunds: int
    revenue: Decimal
    files: dict[str, Path]
    anonymous_visitors: int = 0
    gross_revenue: Decimal = Decimal("0.00")
