"""Sample-ratio mismatch: a chi-square test of the traffic split against the weights."""

from __future__ import annotations

import pytest
from scipy.stats import chisquare

from tenure.experiments.stats.srm import SRM_THRESHOLD, srm_p_value


class TestSampleRatioMismatch:
    def test_the_p_value_is_scipys_chi_square_goodness_of_fit(self) -> None:
        units, weights = [2_980, 3_050, 3_970], [0.3, 0.3, 0.4]
        expected = [w * sum(units) for w in weights]
        assert srm_p_value(units, weights) == pytest.approx(chisquare(units, expected).pvalue)

    def test_a_variant_losing_a_tenth_of_its_traffic_is_flagged(self) -> None:
        assert srm_p_value([10_000, 9_000], [0.5, 0.5]) < SRM_THRESHOLD

    def test_a_healthy_uneven_split_is_not_flagged(self) -> None:
        assert srm_p_value([2_010, 7_990], [0.2, 0.8]) > 0.5

    def test_no_units_is_no_mismatch(self) -> None:
        assert srm_p_value([0, 0], [0.5, 0.5]) == 1

    def test_a_switched_off_variant_is_left_out_of_the_statistic(self) -> None:
        assert srm_p_value([500, 0, 500], [0.5, 0.0, 0.5]) == pytest.approx(1.0)
