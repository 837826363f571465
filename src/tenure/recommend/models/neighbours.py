"""Personal lists from item-to-item similarity: a user's score for an item is the sum of its
similarity to what they interacted with, recent and frequent things weighing more; the item
of their history that contributed most is the reason ("bought with X")."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse

from tenure.recommend.models.topk import NONE, top_k_sparse


def rank_neighbours(
    history: sparse.csr_matrix,
    similarity: sparse.csr_matrix,
    users: npt.NDArray[np.int32],
    exclude: sparse.csr_matrix,
    inactive: npt.NDArray[np.bool_],
    k: int,
    batch: int = 50_000,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Each user's k best items by history × similarity, minus excluded and inactive items."""
    ids = np.full((users.size, k), NONE, np.int32)
    scores = np.zeros((users.size, k), np.float32)
    drop = sparse.diags((~inactive).astype(np.float32))
    for start in range(0, users.size, batch):
        chunk = users[start : start + batch]
        scored = (history[chunk] @ similarity @ drop).tocsr()
        banned = exclude[chunk].tocsr()
        if banned.nnz:
            # Zero the excluded cells (score minus itself), then drop them.
            mask = banned.copy()
            mask.data[:] = 1.0
            scored = (scored - scored.multiply(mask)).tocsr()
        scored.eliminate_zeros()
        got, val = top_k_sparse(scored, k)
        ids[start : start + chunk.size] = got
        scores[start : start + chunk.size] = val
    return ids, scores


def row_argmax(matrix: sparse.csr_matrix) -> npt.NDArray[np.int32]:
    """The column of each row's largest stored value (NONE for an empty row), vectorised:
    scipy's own argmax walks the rows in Python."""
    matrix.sum_duplicates()
    n = matrix.shape[0]
    out = np.full(n, NONE, np.int32)
    lengths = np.diff(matrix.indptr)
    filled = np.flatnonzero(lengths > 0)
    if filled.size == 0:
        return out
    maxima = np.maximum.reduceat(matrix.data, matrix.indptr[filled])
    row_of = np.repeat(np.arange(n), lengths)
    best = np.zeros(n, matrix.data.dtype)
    best[filled] = maxima
    hits = np.flatnonzero(matrix.data == best[row_of])
    rows, first = np.unique(row_of[hits], return_index=True)
    out[rows] = matrix.indices[hits[first]]
    return out


def anchors(
    history: sparse.csr_matrix,
    similarity: sparse.csr_matrix,
    users: npt.NDArray[np.int32],
    ids: npt.NDArray[np.int32],
    batch: int = 200_000,
) -> npt.NDArray[np.int32]:
    """For each recommended (user, item), the history item that explains it best (NONE: none)."""
    out = np.full(ids.shape, NONE, np.int32)
    flat_users = np.repeat(users, ids.shape[1])
    flat_items = ids.ravel()
    incoming = similarity.T.tocsr()
    result = out.ravel()
    for start in range(0, flat_items.size, batch):
        u = flat_users[start : start + batch]
        j = flat_items[start : start + batch]
        valid = j != NONE
        if not valid.any():
            continue
        contrib = history[u[valid]].multiply(incoming[j[valid]]).tocsr()
        picked = row_argmax(contrib)
        block = result[start : start + batch]
        block[valid] = picked
        result[start : start + batch] = block
    return result.reshape(ids.shape)
