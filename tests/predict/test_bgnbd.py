"""BG/NBD: the published CDNOW fit, the paper's worked example, and the model's identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.predict.clv import BGNBD, BGNBDParams, NotFittedError, simulate_bgnbd
from tenure.predict.clv.inputs import compress, validate_rfm

from .builders import relative_error, standard_scores

PUBLISHED = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def fitted(cdnow_sample: pd.DataFrame) -> BGNBD:
    s = cdnow_sample
    return BGNBD().fit(s["frequency"], s["recency"], s["T"])


class TestPublishedCdnowFit:
    def test_parameters_match_fader_hardie_lee_to_three_decimals(self, fitted: BGNBD) -> None:
        for name, value in PUBLISHED.as_dict().items():
            assert abs(fitted.params_.as_dict()[name] - value) < 0.0005, name
        assert fitted.converged_

    def test_log_likelihood_matches_the_paper(self, fitted: BGNBD) -> None:
        assert fitted.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)

    def test_log_likelihood_per_customer_sums_to_the_fitted_total(
        self, fitted: BGNBD, cdnow_sample: pd.DataFrame
    ) -> None:
        s = cdnow_sample
        per_customer = fitted.log_likelihood(s["frequency"], s["recency"], s["T"])
        assert per_customer.sum() == pytest.approx(fitted.log_likelihood_, rel=1e-12)


class TestCompression:
    def test_identical_rows_weighted_once_give_the_unweighted_fit(self) -> None:
        customers = simulate_bgnbd(20_000, PUBLISHED, seed=3)
        raw = BGNBD().fit(customers["frequency"], customers["recency"], customers["T"])
        counted = customers.value_counts().reset_index(name="n")
        assert len(counted) < len(customers) / 2
        weighted = BGNBD().fit(
            counted["frequency"], counted["recency"], counted["T"], weights=counted["n"]
        )
        np.testing.assert_allclose(weighted.params_.values(), raw.params_.values(), rtol=1e-6)
        assert weighted.log_likelihood_ == pytest.approx(raw.log_likelihood_, rel=1e-10)

    def test_compressed_rows_map_back_to_every_customer(self) -> None:
        customers = simulate_bgnbd(5_000, PUBLISHED, seed=4)
        rows = compress(validate_rfm(customers["frequency"], customers["recency"], customers["T"]))
        np.testing.assert_array_equal(rows.frequency[rows.inverse], customers["frequency"])
        np.testing.assert_array_equal(rows.recency[rows.inverse], customers["recency"])
        np.testing.assert_array_equal(rows.T[rows.inverse], customers["T"])
        assert rows.weights.sum() == len(customers)


class TestPenalizer:
    def test_penalizer_shrinks_parameters_and_is_left_out_of_the_log_likelihood(
        self, cdnow: pd.DataFrame
    ) -> None:
        s = cdnow
        plain = BGNBD().fit(s["frequency"], s["recency"], s["T"])
        shrunk = BGNBD(penalizer=0.01).fit(s["frequency"], s["recency"], s["T"])
        assert shrunk.converged_
        assert shrunk.params_.alpha < plain.params_.alpha
        per_customer = shrunk.log_likelihood(s["frequency"], s["recency"], s["T"]).sum()
        assert shrunk.log_likelihood_ == pytest.approx(per_customer, rel=1e-12)
        assert shrunk.log_likelihood_ < plain.log_likelihood_


class TestGradient:
    def test_analytic_gradient_matches_central_differences(self, cdnow: pd.DataFrame) -> None:
        s = cdnow
        objective = BGNBD()._objective(compress(validate_rfm(s["frequency"], s["recency"], s["T"])))
        theta = np.log([0.3, 5.0, 0.6, 3.0])
        _, grad = objective(theta)
        step = 1e-6
        numeric = [
            (objective(theta + step * e)[0] - objective(theta - step * e)[0]) / (2 * step)
            for e in np.eye(4)
        ]
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


class TestPredictions:
    @pytest.fixture
    def model(self) -> BGNBD:
        model = BGNBD()
        model.params_ = PUBLISHED
        return model

    def test_papers_customer_expects_1_226_purchases_in_39_weeks(self, model: BGNBD) -> None:
        # Fader, Hardie & Lee (2005), section 5: x = 2, t_x = 30.43, T = 38.86.
        assert model.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)

    def test_customers_without_repeat_purchases_are_alive(self, model: BGNBD) -> None:
        alive = model.conditional_probability_alive([0, 0, 0], [0, 0, 0], [1.0, 20.0, 38.86])
        np.testing.assert_array_equal(alive, 1.0)

    def test_alive_probability_falls_with_time_since_last_purchase(self, model: BGNBD) -> None:
        alive = model.conditional_probability_alive(3, [30.0, 20.0, 5.0], 38.86)
        assert 1 > alive[0] > alive[1] > alive[2] > 0

    def test_purchase_count_probabilities_sum_to_one_with_the_expected_mean(
        self, model: BGNBD
    ) -> None:
        n = np.arange(400)
        for t in (1.0, 39.0, 78.0):
            p = model.probability_of_n_purchases_up_to_time(t, n)
            assert p.sum() == pytest.approx(1.0, abs=1e-10)
            assert p @ n == pytest.approx(model.expected_purchases_new_customer(t), rel=1e-9)

    def test_new_customer_expectation_is_the_history_free_conditional_one(
        self, model: BGNBD
    ) -> None:
        t = np.array([1.0, 10.0, 52.0])
        np.testing.assert_allclose(
            model.expected_purchases_new_customer(t), model.expected_purchases(t, 0, 0, 0)
        )

    def test_heavy_buyers_do_not_overflow(self, model: BGNBD) -> None:
        expected = model.expected_purchases(52, [300, 1000], [38.0, 38.5], 38.86)
        assert np.all(np.isfinite(expected)) and np.all(expected > 0)

    def test_predictions_before_fit_say_so(self) -> None:
        with pytest.raises(NotFittedError, match="fit"):
            BGNBD().conditional_probability_alive(1, 1, 2)


class TestParameterRecovery:
    def test_100k_simulated_customers_recover_the_true_parameters(self) -> None:
        customers = simulate_bgnbd(100_000, PUBLISHED, seed=11)
        model = BGNBD().fit(customers["frequency"], customers["recency"], customers["T"])
        assert model.converged_
        errors = relative_error(model.params_.as_dict(), PUBLISHED.as_dict())
        # r and alpha are pinned within 1-1.5% (one standard error); a and b only within 4-5%.
        assert errors["r"] < 0.03 and errors["alpha"] < 0.045, errors
        z = standard_scores(model, customers, PUBLISHED.values())
        assert np.all(np.abs(z) < 3), z

    def test_continuous_times_without_duplicates_fit_too(self) -> None:
        customers = simulate_bgnbd(50_000, PUBLISHED, seed=12, resolution=None)
        model = BGNBD().fit(customers["frequency"], customers["recency"], customers["T"])
        assert model.n_rows_ == len(customers)
        z = standard_scores(model, customers, PUBLISHED.values())
        assert np.all(np.abs(z) < 3), z
