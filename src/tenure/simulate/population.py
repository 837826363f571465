"""Latent customer population: channels, signups, demographics, BG/NBD and spend parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tenure.simulate.calendar import Calendar
from tenure.simulate.catalog import Catalog
from tenure.simulate.config import COUNTRIES, SimulationConfig

Array = npt.NDArray[Any]

GENDERS = ("f", "m", "x")
GENDER_P = (0.52, 0.45, 0.03)
DEVICES = ("mobile", "desktop", "tablet")
DEVICE_P = (0.62, 0.33, 0.05)
# Signups need room for their signup session (< 2 h) and the period end for the last sessions.
SIGNUP_MIN_HOURS = 2.0


@dataclass(frozen=True)
class Population:
    """Registered users of one block (arrays of length n)."""

    channel: Array  # int64 index into config.channels
    signup_h: Array  # hours since period start
    country: Array  # int64 index into COUNTRIES
    birthday_day: Array  # int32 days since epoch
    birthday_valid: Array  # bool
    gender: Array  # int64 index into GENDERS
    email_opt_in: Array  # bool
    device: Array  # int64 index into DEVICES
    rate: Array  # λ, purchases per week while alive
    dropout_p: Array  # BG/NBD p
    mean_spend: Array  # latent mean order value (currency units)
    nu: Array  # Gamma-Gamma ν after the channel's spend multiplier
    fav_category: Array  # int64 category index
    engagement: Array  # multiplier on browsing


@dataclass(frozen=True)
class Visitors:
    """Anonymous visitors who never sign up (some buy as guests)."""

    channel: Array
    first_h: Array
    fav_category: Array


def channel_probs(config: SimulationConfig) -> Array:
    """Normalised channel shares."""
    shares = np.array([c.share for c in config.channels], dtype=np.float64)
    return shares / shares.sum()


def draw_population(
    rng: np.random.Generator, config: SimulationConfig, cal: Calendar, catalog: Catalog, n: int
) -> Population:
    """Draw n users with their latent parameters."""
    chans = config.channels
    channel = rng.choice(len(chans), size=n, p=channel_probs(config))
    signup_h = cal.sample_signups(rng, n, SIGNUP_MIN_HOURS, cal.hours - 1e-6)
    cprob = np.array([w for _, w in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n, p=cprob / cprob.sum())
    age = np.clip(rng.normal(38.0, 12.0, n), 18.0, 85.0)
    birthday_day = (cal.start_epoch_day - age * 365.25).astype(np.int32)
    birthday_valid = rng.random(n) >= config.birthday_missing
    gender = rng.choice(len(GENDERS), size=n, p=GENDER_P)
    opt_p = np.array([c.email_opt_in for c in chans])[channel]
    email_opt_in = rng.random(n) < opt_p
    device = rng.choice(len(DEVICES), size=n, p=DEVICE_P)

    base_rate = rng.gamma(config.r, 1.0 / config.alpha, n)
    rate = np.minimum(
        base_rate * np.array([c.rate_multiplier for c in chans])[channel], config.max_rate_per_week
    )
    base_p = rng.beta(config.a, config.b, n)
    dropout_p = np.clip(
        base_p * np.array([c.dropout_multiplier for c in chans])[channel], 1e-4, 0.98
    )
    nu = rng.gamma(config.gg_q, 1.0 / config.gg_gamma, n)
    nu = nu / np.array([c.spend_multiplier for c in chans])[channel]
    fav_category = rng.choice(catalog.category_weights.size, size=n, p=catalog.category_weights)
    engagement = rng.gamma(2.0, 0.5, n)
    return Population(
        channel,
        signup_h,
        country,
        birthday_day,
        birthday_valid,
        gender,
        email_opt_in,
        device,
        rate,
        dropout_p,
        config.gg_p / nu,
        nu,
        fav_category,
        engagement,
    )


def draw_visitors(
    rng: np.random.Generator, config: SimulationConfig, cal: Calendar, catalog: Catalog, m: int
) -> Visitors:
    """Draw m anonymous visitors arriving with the signup seasonality."""
    channel = rng.choice(len(config.channels), size=m, p=channel_probs(config))
    first_h = cal.sample_signups(rng, m, 0.0, cal.hours - SIGNUP_MIN_HOURS)
    fav = rng.choice(catalog.category_weights.size, size=m, p=catalog.category_weights)
    return Visitors(channel, first_h, fav)
