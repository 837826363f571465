"""2F1(1, b; c; z): the series path and the scipy path agree, derivatives included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hyp2f1

from tenure.predict.clv.hypergeometric import SERIES_MAX_Z, _scipy, _series, hyp2f1_unit


@pytest.fixture
def arguments() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    b = rng.uniform(0.05, 60, 500)
    c = b + rng.uniform(0.05, 5, 500)
    z = rng.uniform(0, SERIES_MAX_Z, 500)
    return b, c, z


class TestHyp2F1Unit:
    def test_series_equals_scipy_with_derivatives(self, arguments: tuple[np.ndarray, ...]) -> None:
        b, c, z = arguments
        series, reference = _series(b, c, z, True), _scipy(b, c, z, True)
        np.testing.assert_allclose(series.log_value, reference.log_value, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(series.d_z, reference.d_z, rtol=1e-11)
        np.testing.assert_allclose(series.d_b, reference.d_b, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(series.d_c, reference.d_c, rtol=1e-7, atol=1e-12)

    def test_rows_near_one_take_the_scipy_path(self) -> None:
        b, c, z = np.array([0.5, 3.0]), np.array([2.0, 3.5]), np.array([0.3, 0.99])
        got = hyp2f1_unit(b, c, z, grad=False)
        np.testing.assert_allclose(np.exp(got.log_value), hyp2f1(1.0, b, c, z), rtol=1e-13)

    def test_z_zero_is_exactly_one(self) -> None:
        got = hyp2f1_unit(np.array([2.0]), np.array([3.0]), np.array([0.0]))
        assert got.log_value[0] == 0.0
        assert got.d_z[0] == pytest.approx(2.0 / 3.0)
