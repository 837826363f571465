"""The anomaly band on synthetic weekly series: a planted spike or drop is flagged, a steady or
noisy-but-usual week is not, one old outlier does not blind the band, too little history gives
no verdict."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.reports.weekly.anomalies import MIN_HISTORY, band, unusual


def noisy(level: float, sd: float, weeks: int = 12, seed: int = 3) -> list[float]:
    return list(np.random.default_rng(seed).normal(level, sd, weeks))


def test_a_planted_spike_is_flagged_above_the_band() -> None:
    history = noisy(1000, 50)
    direction, found = unusual(1600, history)
    assert direction == 1
    assert found is not None and found.high < 1600 and found.weeks == 12


def test_a_planted_drop_is_flagged_below_the_band() -> None:
    direction, _ = unusual(400, noisy(1000, 50))
    assert direction == -1


@pytest.mark.parametrize("seed", range(20))
def test_an_ordinary_week_of_a_steady_series_is_not_flagged(seed: int) -> None:
    series = noisy(1000, 50, weeks=13, seed=seed)
    direction, found = unusual(series[-1], series[:-1])
    assert direction == 0 and found is not None


def test_a_flat_series_is_not_flagged_for_the_same_value_but_is_for_a_jump() -> None:
    assert unusual(20, [20] * 10)[0] == 0
    assert unusual(21 * 1.02, [21] * 10)[0] == 0  # rounding noise inside 5 %
    assert unusual(30, [20] * 10)[0] == 1
    assert unusual(5, [0] * 10)[0] == 1  # the first sale after weeks of none


def test_one_earlier_outlier_does_not_widen_the_band_enough_to_hide_a_spike() -> None:
    history = noisy(100, 5)
    history[3] = 900  # a past Black Friday: a mean ± 3 sd band would swallow the next spike
    assert unusual(250, history)[0] == 1
    mean, sd = float(np.mean(history)), float(np.std(history))
    assert mean + 3 * sd > 250  # the band a plain standard deviation would give misses it


def test_too_short_or_missing_history_gives_no_verdict() -> None:
    assert unusual(10_000, [1.0] * (MIN_HISTORY - 1)) == (0, None)
    assert unusual(10_000, [None] * 12) == (0, None)
    assert unusual(None, noisy(5, 1)) == (0, None)
    assert band([1, 2, None, 3, 4, 5, 6]) is not None  # missing weeks are skipped
