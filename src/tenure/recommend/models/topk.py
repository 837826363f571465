"""Top-K selection shared by every model: the K best columns of each row, best first."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse

NONE = -1


def top_k_dense(
    scores: npt.NDArray[np.float32], k: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Per row, the k highest finite scores' columns (NONE-padded) and the scores."""
    rows, cols = scores.shape
    k_eff = min(k, cols)
    if k_eff == 0:
        return np.full((rows, k), NONE, np.int32), np.zeros((rows, k), np.float32)
    part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    picked = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1).astype(np.int32)
    val = np.take_along_axis(picked, order, axis=1).astype(np.float32)
    idx[~np.isfinite(val)] = NONE
    val[~np.isfinite(val)] = 0.0
    if k_eff < k:
        idx = np.pad(idx, ((0, 0), (0, k - k_eff)), constant_values=NONE)
        val = np.pad(val, ((0, 0), (0, k - k_eff)))
    return idx, val


def top_k_sparse(
    matrix: sparse.csr_matrix, k: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Per row of a sparse score matrix, the k best stored columns (positive scores only)."""
    matrix = matrix.tocsr()
    n = matrix.shape[0]
    idx = np.full((n, k), NONE, np.int32)
    val = np.zeros((n, k), np.float32)
    lengths = np.diff(matrix.indptr)
    row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    keep = matrix.data > 0
    rows, cols, data = row_of[keep], matrix.indices[keep], matrix.data[keep]
    if data.size == 0:
        return idx, val
    # One float sort instead of a lexsort: the row in the integer part, the score (higher
    # first) in the fraction; ties within a row may come in any order.
    fraction = 1.0 - data.astype(np.float64) / (float(data.max()) * (1 + 1e-9))
    order = np.argsort(rows + fraction * 0.999, kind="quicksort")
    rows, cols, data = rows[order], cols[order], data[order]
    starts = np.searchsorted(rows, np.arange(n))
    rank = np.arange(rows.size) - starts[rows]
    first = rank < k
    idx[rows[first], rank[first]] = cols[first]
    val[rows[first], rank[first]] = data[first]
    return idx, val


def prune(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """The same matrix keeping each row's k largest entries."""
    idx, val = top_k_sparse(matrix, k)
    rows = np.repeat(np.arange(idx.shape[0]), k)
    flat, values = idx.ravel(), val.ravel()
    keep = flat != NONE
    return sparse.csr_matrix(
        (values[keep], (rows[keep], flat[keep])), shape=matrix.shape, dtype=np.float32
    )
