"""2F1(1, b; c; z) for 0 <= z < 1 and c > b > 0, with its derivatives in b, c and z."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import hyp2f1

from tenure.predict.clv.inputs import FloatArray

# Below this z the power series needs at most ~60 terms to reach double precision; above it,
# scipy's hyp2f1 (which switches to transformations near z = 1) is cheaper per row.
SERIES_MAX_Z = 0.55
_SERIES_TOL = 1e-16
_SERIES_MAX_TERMS = 400
_CHUNK = 8
# Relative step for the central differences in b and c on the scipy path: error ~ step², well
# below the line-search tolerance of the optimiser.
_FD_STEP = 1e-5


@dataclass(frozen=True)
class Hyp2F1:
    """G = 2F1(1, b; c; z) and d log G / d(b, c, z), one value per row."""

    log_value: FloatArray
    d_b: FloatArray
    d_c: FloatArray
    d_z: FloatArray


def hyp2f1_unit(b: FloatArray, c: FloatArray, z: FloatArray, *, grad: bool = True) -> Hyp2F1:
    """2F1(1, b; c; z) = Σ (b)_n / (c)_n z^n and its log-derivatives, vectorised.

    The Pareto/NBD likelihood needs 2F1(r+s+x, ·; r+s+x+1; z); Euler's transformation turns
    it into this form (first parameter 1), whose series has positive terms (no cancellation)
    and derivatives in b and c that are running sums of digamma differences.
    """
    log_value = np.empty_like(z)
    d_b, d_c, d_z = np.zeros_like(z), np.zeros_like(z), np.zeros_like(z)
    small = z <= SERIES_MAX_Z
    if small.all():
        return _series(b, c, z, grad)
    if small.any():
        part = _series(b[small], c[small], z[small], grad)
        log_value[small], d_b[small], d_c[small], d_z[small] = (
            part.log_value,
            part.d_b,
            part.d_c,
            part.d_z,
        )
    big = ~small
    part = _scipy(b[big], c[big], z[big], grad)
    log_value[big], d_b[big], d_c[big], d_z[big] = part.log_value, part.d_b, part.d_c, part.d_z
    return Hyp2F1(log_value, d_b, d_c, d_z)


def _series(b: FloatArray, c: FloatArray, z: FloatArray, grad: bool) -> Hyp2F1:
    """Sum the series term by term; t_{n+1} = t_n z (b+n)/(c+n) <= t_n z.

    Rows leave the loop as they converge (checked every few terms), so a few rows with z near
    SERIES_MAX_Z do not make every row pay for their long tail.
    """
    rows = np.arange(z.size)
    out = np.empty((4, z.size))
    term, total = np.ones_like(z), np.ones_like(z)
    sum_b, sum_c = np.zeros_like(z), np.zeros_like(z)
    g_b, g_c, g_z = np.zeros_like(z), np.zeros_like(z), np.zeros_like(z)
    n = 0
    while rows.size:
        bn, cn, ratio, scratch = (np.empty_like(z) for _ in range(4))
        for _ in range(_CHUNK):
            # In-place ufuncs: this loop is the hot path of the Pareto/NBD fit.
            np.add(b, n, out=bn)
            np.add(c, n, out=cn)
            np.divide(bn, cn, out=ratio)
            if grad:
                # d t_{n+1} / dz = (n+1) t_n ratio; d log t_{n+1} / db = sum_{j<=n} 1/(b+j).
                np.multiply(term, ratio, out=scratch)
                scratch *= n + 1
                g_z += scratch
                sum_b += np.reciprocal(bn, out=bn)
                sum_c += np.reciprocal(cn, out=cn)
            term *= z
            term *= ratio
            total += term
            if grad:
                g_b += np.multiply(term, sum_b, out=scratch)
                g_c -= np.multiply(term, sum_c, out=scratch)
            n += 1
        # The derivative series decay like n·log(n)·t_n, slower than the value series.
        done = (term * (n + 1) * (1.0 + sum_b) <= _SERIES_TOL * total) | (n >= _SERIES_MAX_TERMS)
        if done.any():
            out[:, rows[done]] = np.log(total[done]), g_b[done], g_c[done], g_z[done]
            out[1:, rows[done]] /= total[done]
            left = ~done
            rows, b, c, z = rows[left], b[left], c[left], z[left]
            term, total, sum_b, sum_c = term[left], total[left], sum_b[left], sum_c[left]
            g_b, g_c, g_z = g_b[left], g_c[left], g_z[left]
    return Hyp2F1(out[0], out[1], out[2], out[3])


def _scipy(b: FloatArray, c: FloatArray, z: FloatArray, grad: bool) -> Hyp2F1:
    """scipy's hyp2f1 for z near 1; d/dz is exact, d/db and d/dc are central differences."""
    value = hyp2f1(1.0, b, c, z)
    zeros = np.zeros_like(z)
    if not grad:
        return Hyp2F1(np.log(value), zeros, zeros, zeros)
    hb = _FD_STEP * np.maximum(b, 1.0)
    hc = _FD_STEP * np.maximum(c, 1.0)
    d_b = (np.log(hyp2f1(1.0, b + hb, c, z)) - np.log(hyp2f1(1.0, b - hb, c, z))) / (2 * hb)
    d_c = (np.log(hyp2f1(1.0, b, c + hc, z)) - np.log(hyp2f1(1.0, b, c - hc, z))) / (2 * hc)
    d_z = b / c * hyp2f1(2.0, b + 1.0, c + 1.0, z) / value
    return Hyp2F1(np.log(value), d_b, d_c, d_z)
