"""Hourly seasonal intensity (daily, weekly, yearly) and exact time sampling by inversion."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from tenure.simulate.config import SimulationConfig

Array = npt.NDArray[Any]

# Relative traffic by UTC hour; most customers are in Europe/Americas, so evenings peak.
DIURNAL = np.array(
    [
        0.55,
        0.45,
        0.35,
        0.28,
        0.25,
        0.28,
        0.40,
        0.60,
        0.80,
        0.95,
        1.05,
        1.15,
        1.20,
        1.25,
        1.25,
        1.20,
        1.20,
        1.25,
        1.35,
        1.45,
        1.50,
        1.40,
        1.10,
        0.80,
    ]
)
HOURS_PER_WEEK = 168.0
US_PER_HOUR = 3_600_000_000


def yearly_factor(doy: Array, yearly_amplitude: float, holiday_amplitude: float) -> Array:
    """Un-normalised yearly shape: December peak plus Black Friday and pre-Christmas bumps."""
    annual = 1.0 + yearly_amplitude * np.cos(2 * np.pi * (doy - 350) / 365.25)
    bumps = np.exp(-0.5 * ((doy - 330) / 5.0) ** 2) + 0.7 * np.exp(-0.5 * ((doy - 352) / 6.0) ** 2)
    return annual + holiday_amplitude * bumps


class Calendar:
    """Seasonal intensities on an hourly grid over the simulated period.

    Intensities average 1 over a full week and a full year, so a user's rate λ keeps its
    meaning of "purchases per week on average"; the period itself may be shorter.
    """

    def __init__(self, config: SimulationConfig) -> None:
        """Precompute hourly intensity grids and their cumulative integrals."""
        self.days = config.days
        self.hours = float(config.days * 24)
        start = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
        self.start_us = int(start.timestamp()) * 1_000_000
        self.start_epoch_day = (config.start - date(1970, 1, 1)).days
        day = np.arange(config.days)
        dates = np.datetime64(config.start.isoformat(), "D") + day
        doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
        dow = (config.start.weekday() + day) % 7
        weekly_shape = 1.0 + config.weekly_amplitude * (np.arange(7) >= 5)
        weekly = (weekly_shape / weekly_shape.mean())[dow]
        year_shape = yearly_factor(
            np.arange(365.0), config.yearly_amplitude, config.holiday_amplitude
        )
        yearly = (
            yearly_factor(doy.astype(float), config.yearly_amplitude, config.holiday_amplitude)
            / year_shape.mean()
        )
        diurnal = DIURNAL / DIURNAL.mean()
        daily = weekly * yearly
        purchase = (daily[:, None] * diurnal[None, :]).ravel()
        trend = 1.0 + config.signup_trend * (np.arange(purchase.size) / purchase.size)
        signup = purchase * trend
        self.grid = np.arange(purchase.size + 1, dtype=np.float64)
        self.cum_purchase = np.concatenate([[0.0], np.cumsum(purchase)])
        self.cum_signup = np.concatenate([[0.0], np.cumsum(signup)])

    def integral(self, lo: Array, hi: Array) -> Array:
        """Seasonal exposure (in intensity-weighted hours) of purchase windows [lo, hi]."""
        lo_c = np.interp(lo, self.grid, self.cum_purchase)
        hi_c = np.interp(hi, self.grid, self.cum_purchase)
        return np.maximum(hi_c - lo_c, 0.0)

    def sample_in_windows(self, rng: np.random.Generator, lo: Array, hi: Array) -> Array:
        """One time (hours since start) per window, drawn from the purchase intensity."""
        lo_c = np.interp(lo, self.grid, self.cum_purchase)
        hi_c = np.interp(hi, self.grid, self.cum_purchase)
        y = lo_c + rng.random(lo_c.size) * np.maximum(hi_c - lo_c, 0.0)
        return np.interp(y, self.cum_purchase, self.grid)

    def sample_signups(self, rng: np.random.Generator, n: int, lo: float, hi: float) -> Array:
        """n times (hours since start) in [lo, hi] following the signup intensity."""
        lo_c, hi_c = np.interp([lo, hi], self.grid, self.cum_signup)
        y = lo_c + rng.random(n) * (hi_c - lo_c)
        return np.interp(y, self.cum_signup, self.grid)

    def to_us(self, hours: Array) -> Array:
        """Hours since start to epoch microseconds (int64)."""
        return self.start_us + np.rint(hours * US_PER_HOUR).astype(np.int64)
