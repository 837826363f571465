"""Input checks for the CLV models and compression of identical customer rows."""

# `T` (customer age) is the name the papers and lifetimes give this column.
# ruff: noqa: N803

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# recency may exceed T by rounding noise when both come from float arithmetic on dates.
_RECENCY_SLACK = 1e-9


def dot(weights: FloatArray, values: FloatArray) -> float:
    """Σ weights × values without BLAS: on a busy 2-core machine OpenBLAS threads spin-wait
    after every call and slowed whole fits threefold."""
    return float(np.einsum("i,i->", weights, values))


class InvalidInput(ValueError):
    """A model input column is unusable; `column` names it and `reason` says why."""

    code = "clv_invalid_input"

    def __init__(self, column: str, reason: str) -> None:
        self.column = column
        self.reason = reason
        super().__init__(f"{column}: {reason}")


@dataclass(frozen=True)
class RFM:
    """Validated per-customer columns: repeat purchases, recency, age and weights."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    weights: FloatArray


@dataclass(frozen=True)
class CompressedRFM:
    """Unique (frequency, recency, T) rows with summed weights; `inverse` maps customers to rows."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    weights: FloatArray
    inverse: IntArray
    n_customers: float


def _where(values: Any, mask: npt.NDArray[np.bool_]) -> str:
    """The label (pandas index) or position of the first offending value, for messages."""
    position = int(np.flatnonzero(mask)[0])
    if isinstance(values, pd.Series) and len(values.index) == mask.size:
        return f"index {values.index[position]!r}"
    return f"position {position}"


def as_column(values: Any, column: str, *, any_shape: bool = False) -> FloatArray:
    """A numeric column as a float array (1-d unless any_shape); NaN, inf, negatives rejected."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(column, f"not numeric ({exc})") from None
    if array.ndim == 0 and not any_shape:
        array = array.reshape(1)
    if array.ndim > 1 and not any_shape:
        raise InvalidInput(column, f"expected one dimension, got shape {array.shape}")
    flat = array.reshape(-1)
    for bad, what in ((np.isnan(flat), "missing (NaN)"), (np.isinf(flat), "infinite")):
        if bad.any():
            raise InvalidInput(
                column, f"{int(bad.sum())} {what} values, first at {_where(values, bad)}"
            )
    negative = flat < 0
    if negative.any():
        raise InvalidInput(
            column, f"{int(negative.sum())} negative values, first at {_where(values, negative)}"
        )
    return array


def check_frequency(frequency: FloatArray, raw: Any) -> None:
    """Frequency counts repeat purchases, so it must hold whole numbers."""
    fractional = frequency != np.floor(frequency)
    if fractional.any():
        raise InvalidInput(
            "frequency",
            f"{int(fractional.sum())} non-integer values, first at {_where(raw, fractional)}; "
            "frequency is the number of repeat purchases",
        )


def validate_rfm(frequency: Any, recency: Any, T: Any, weights: Any = None) -> RFM:
    """Check the columns a transaction model is fitted on; messages name the bad column."""
    x = as_column(frequency, "frequency")
    t_x = as_column(recency, "recency")
    age = as_column(T, "T")
    if x.size == 0:
        raise InvalidInput("frequency", "no customers")
    for name, column in (("recency", t_x), ("T", age)):
        if column.size != x.size:
            raise InvalidInput(name, f"has {column.size} values but frequency has {x.size}")
    check_frequency(x, frequency)
    late = t_x > age * (1 + _RECENCY_SLACK) + _RECENCY_SLACK
    if late.any():
        at = int(np.flatnonzero(late)[0])
        raise InvalidInput(
            "recency",
            f"{int(late.sum())} values exceed T, first at {_where(recency, late)} "
            f"(recency {t_x[at]:g} > T {age[at]:g})",
        )
    stray = (x == 0) & (t_x > 0)
    if stray.any():
        raise InvalidInput(
            "recency",
            f"{int(stray.sum())} customers without repeat purchases have recency > 0, "
            f"first at {_where(recency, stray)}; recency must be 0 when frequency is 0",
        )
    w = np.ones_like(x) if weights is None else as_column(weights, "weights")
    if w.size != x.size:
        raise InvalidInput("weights", f"has {w.size} values but frequency has {x.size}")
    if not w.sum() > 0:
        raise InvalidInput("weights", "all weights are zero")
    return RFM(frequency=x, recency=np.minimum(t_x, age), T=age, weights=w)


def _codes(values: npt.NDArray[Any]) -> tuple[IntArray, int]:
    """Dense codes of a column by hashing (O(n), unlike sorting for np.unique)."""
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.intp, copy=False), len(uniques)


def weighted_counts(codes: IntArray, weights: FloatArray, n_codes: int) -> FloatArray:
    """Σ weights per code (np.bincount, typed as floats)."""
    return np.asarray(np.bincount(codes, weights=weights, minlength=n_codes), dtype=np.float64)


def unique_pairs(a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray]:
    """Distinct (a, b) pairs: the index of each pair's first row and each row's pair."""
    ca, _ = _codes(a)
    cb, nb = _codes(b)
    pair, n_pairs = _codes(ca.astype(np.int64) * nb + cb)
    return _first_rows(pair, n_pairs), pair


def _first_rows(codes: IntArray, n_codes: int) -> IntArray:
    """The position of the first row carrying each code."""
    first = np.empty(n_codes, dtype=np.intp)
    backwards = np.arange(codes.size - 1, -1, -1)
    first[codes[backwards]] = backwards  # the last write wins: each code keeps its first row
    return first


def compress(rfm: RFM) -> CompressedRFM:
    """Merge identical (frequency, recency, T) rows, summing their weights."""
    cx, nx = _codes(rfm.frequency)
    ct, nt = _codes(rfm.recency)
    c_age, n_age = _codes(rfm.T)
    if nx * nt * n_age < 2**62:
        row, n_rows = _codes((cx.astype(np.int64) * nt + ct) * n_age + c_age)
    else:
        # Two steps keep every key below n_customers * max(nt, n_age): no int64 overflow.
        pair, _ = _codes(cx.astype(np.int64) * nt + ct)
        row, n_rows = _codes(pair.astype(np.int64) * n_age + c_age)
    first = _first_rows(row, n_rows)
    weights = weighted_counts(row, rfm.weights, n_rows)
    return CompressedRFM(
        frequency=rfm.frequency[first],
        recency=rfm.recency[first],
        T=rfm.T[first],
        weights=weights,
        inverse=row,
        n_customers=float(weights.sum()),
    )
