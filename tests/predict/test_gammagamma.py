"""Gamma-Gamma: the published CDNOW spend fit, its conditional mean, and CLV arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.predict.clv import BGNBD, BGNBDParams, GammaGamma, GammaGammaParams, InvalidInput

PUBLISHED = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


@pytest.fixture(scope="module")
def fitted(cdnow_sample: pd.DataFrame) -> GammaGamma:
    s = cdnow_sample
    return GammaGamma().fit(s["frequency"], s["monetary_value"])


@pytest.fixture
def spend_model() -> GammaGamma:
    model = GammaGamma()
    model.params_ = PUBLISHED
    return model


class TestPublishedCdnowFit:
    def test_parameters_match_fader_hardie_to_two_decimals(self, fitted: GammaGamma) -> None:
        got = fitted.params_
        assert abs(got.p - 6.25) < 0.005
        assert abs(got.q - 3.74) < 0.005
        assert abs(got.gamma - 15.44) < 0.005
        assert fitted.converged_

    def test_only_the_946_customers_with_repeat_purchases_are_fitted(
        self, fitted: GammaGamma
    ) -> None:
        assert fitted.n_customers_ == 946


class TestConditionalExpectedSpend:
    def test_is_a_weighted_average_of_population_and_own_mean(
        self, spend_model: GammaGamma
    ) -> None:
        p, q, gamma = 6.25, 3.74, 15.44
        x, m = np.array([1, 5, 50]), np.array([20.0, 35.0, 35.0])
        weight = p * x / (p * x + q - 1)
        population = p * gamma / (q - 1)
        np.testing.assert_allclose(
            spend_model.conditional_expected_average_profit(x, m),
            (1 - weight) * population + weight * m,
        )

    def test_customers_without_repeat_purchases_get_the_population_mean(
        self, spend_model: GammaGamma
    ) -> None:
        got = spend_model.conditional_expected_average_profit(0, 0.0)
        assert got == pytest.approx(6.25 * 15.44 / 2.74)


class TestCustomerLifetimeValue:
    @pytest.fixture
    def transactions(self) -> BGNBD:
        model = BGNBD()
        model.params_ = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
        return model

    def test_is_discounted_monthly_purchases_times_spend_and_margin(
        self, spend_model: GammaGamma, transactions: BGNBD
    ) -> None:
        x, t_x, age, m = 2, 30.43, 38.86, 30.0
        weeks = 365.25 / 12 / 7
        cumulative = [transactions.expected_purchases(i * weeks, x, t_x, age) for i in range(4)]
        spend = spend_model.conditional_expected_average_profit(x, m)
        expected = sum(
            0.3 * spend * (cumulative[i] - cumulative[i - 1]) / 1.02**i for i in range(1, 4)
        )
        got = spend_model.customer_lifetime_value(
            transactions, x, t_x, age, m, months=3, discount_rate=0.02, margin=0.3
        )
        assert got == pytest.approx(expected, rel=1e-12)

    def test_time_unit_of_days_gives_the_same_value_as_weeks(
        self, spend_model: GammaGamma, transactions: BGNBD
    ) -> None:
        daily = BGNBD()
        p = transactions.params_
        daily.params_ = BGNBDParams(r=p.r, alpha=p.alpha * 7, a=p.a, b=p.b)
        weekly = spend_model.customer_lifetime_value(transactions, 2, 30.43, 38.86, 30.0)
        by_day = spend_model.customer_lifetime_value(
            daily, 2, 30.43 * 7, 38.86 * 7, 30.0, time_unit="D"
        )
        assert by_day == pytest.approx(weekly, rel=1e-10)


class TestInputs:
    def test_non_positive_spend_of_a_repeat_buyer_is_rejected(self) -> None:
        with pytest.raises(InvalidInput, match="monetary_value") as caught:
            GammaGamma().fit([1, 2, 0], [10.0, 0.0, 0.0])
        assert caught.value.column == "monetary_value"

    def test_no_repeat_buyers_at_all_is_rejected(self) -> None:
        with pytest.raises(InvalidInput, match="frequency > 0"):
            GammaGamma().fit([0, 0], [0.0, 0.0])
