"""Input validation: every rejection names the bad column and says what is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.predict.clv import BGNBD, BGNBDParams, InvalidInput, ParetoNBD, simulate_bgnbd


def rejection(
    frequency: object, recency: object, age: object, weights: object = None
) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        BGNBD().fit(frequency, recency, age, weights)
    return caught.value


class TestRejectedColumns:
    def test_negative_values_name_their_column_and_position(self) -> None:
        error = rejection([1, 2], [1.0, -1.0], [3.0, 3.0])
        assert error.column == "recency"
        assert "1 negative values, first at position 1" in str(error)

    def test_recency_beyond_the_age_is_rejected_with_both_values(self) -> None:
        error = rejection([1, 1], [2.0, 5.0], [3.0, 4.0])
        assert error.column == "recency"
        assert "recency 5 > T 4" in str(error)

    def test_fractional_frequency_is_rejected(self) -> None:
        error = rejection([1, 1.5], [1.0, 1.0], [3.0, 3.0])
        assert error.column == "frequency"
        assert "non-integer" in str(error)

    def test_missing_values_are_rejected(self) -> None:
        error = rejection([1, 2], [1.0, 2.0], [3.0, np.nan])
        assert error.column == "T"
        assert "missing (NaN)" in str(error)

    def test_infinite_values_are_rejected(self) -> None:
        assert rejection([1, np.inf], [1.0, 2.0], [3.0, 3.0]).column == "frequency"

    def test_recency_without_repeat_purchases_is_rejected(self) -> None:
        error = rejection([0, 1], [2.0, 1.0], [3.0, 3.0])
        assert error.column == "recency"
        assert "must be 0 when frequency is 0" in str(error)

    def test_columns_of_different_lengths_are_rejected(self) -> None:
        assert rejection([1, 2], [1.0, 1.0], [3.0]).column == "T"

    def test_negative_weights_are_rejected(self) -> None:
        assert rejection([1, 2], [1.0, 1.0], [3.0, 3.0], [1, -1]).column == "weights"

    def test_text_is_not_numeric(self) -> None:
        assert rejection(["a", "b"], [1.0, 1.0], [3.0, 3.0]).column == "frequency"

    def test_pandas_index_labels_locate_the_bad_row(self) -> None:
        frame = pd.DataFrame(
            {"frequency": [1, 2], "recency": [1.0, 1.0], "T": [3.0, -3.0]},
            index=pd.Index(["c1", "c2"], name="customer_id"),
        )
        error = rejection(frame["frequency"], frame["recency"], frame["T"])
        assert "index 'c2'" in str(error)

    def test_pareto_nbd_checks_the_same_way(self) -> None:
        with pytest.raises(InvalidInput, match="recency"):
            ParetoNBD().fit([1], [5.0], [4.0])


class TestAcceptedInputs:
    def test_arrays_series_and_lists_give_the_same_fit(self) -> None:
        customers = simulate_bgnbd(2_000, BGNBDParams(0.243, 4.414, 0.793, 2.426), seed=0)
        x, t_x, age = customers["frequency"], customers["recency"], customers["T"]
        series = BGNBD().fit(x, t_x, age).params_
        arrays = BGNBD().fit(x.to_numpy(), t_x.to_numpy(), age.to_numpy()).params_
        lists = BGNBD().fit(list(x), list(t_x), list(age)).params_
        assert arrays == series == lists

    def test_recency_equal_to_the_age_is_fine(self) -> None:
        customers = simulate_bgnbd(2_000, BGNBDParams(0.243, 4.414, 0.793, 2.426), seed=1)
        assert (customers["recency"] == customers["T"]).any()
        model = BGNBD().fit(customers["frequency"], customers["recency"], customers["T"])
        assert model.converged_


class TestDegenerateData:
    def test_no_rate_heterogeneity_reports_non_convergence_instead_of_raising(self) -> None:
        # Every customer buys at the same rate: the gamma mixing has no maximum (r → ∞).
        rng = np.random.default_rng(0)
        x = rng.poisson(1.0, 500)
        t_x = np.where(x > 0, rng.uniform(0, 20, 500), 0.0)
        age = t_x + rng.uniform(1, 10, 500)
        model = BGNBD().fit(x, t_x, age)
        assert not model.converged_
        assert model.fit_message_
        assert model.params_.r > 1e6
