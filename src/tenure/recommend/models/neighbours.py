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


def _expand(
    similarity: sparse.csr_matrix,
    owners: npt.NDArray[np.int64],
    items: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float32],
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]
]:
    """Every similarity row of `items`, flattened: (owner, source item, target item, the
    source's weight × similarity)."""
    starts = similarity.indptr[items]
    lengths = similarity.indptr[items + 1] - starts
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    return (
        np.repeat(owners, lengths),
        np.repeat(items, lengths),
        similarity.indices[offsets],
        np.repeat(weights, lengths) * similarity.data[offsets],
    )


def anchors(
    history: sparse.csr_matrix,
    similarity: sparse.csr_matrix,
    users: npt.NDArray[np.int32],
    ids: npt.NDArray[np.int32],
    batch: int = 5_000,
    strongest: int = 20,
) -> npt.NDArray[np.int32]:
    """For each recommended (user, item), the history item that explains it best: the one of
    the user's `strongest` history items whose weight × similarity to the item is highest
    (NONE: none is similar). Worked from the user's side, so the cost grows with history × K,
    not with how many items point at a popular one."""
    out = np.full(ids.shape, NONE, np.int32)
    n_items = np.int64(similarity.shape[1])
    for start in range(0, users.size, batch):
        chunk = users[start : start + batch]
        top, weight = top_k_sparse(history[chunk], strongest)
        owner = np.repeat(np.arange(chunk.size, dtype=np.int64), strongest)
        held = top.ravel() != NONE
        owners, sources, targets, values = _expand(
            similarity, owner[held], top.ravel()[held], weight.ravel()[held]
        )
        keys = owners * n_items + targets
        wanted = ids[start : start + batch]
        slots = np.flatnonzero(wanted.ravel() != NONE)
        wanted_keys = (slots // wanted.shape[1]).astype(np.int64) * n_items + wanted.ravel()[slots]
        keep = np.isin(keys, wanted_keys)
        keys, sources, values = keys[keep], sources[keep], values[keep]
        order = np.lexsort((-values, keys))
        keys, sources = keys[order], sources[order]
        first = np.ones(keys.size, bool)
        first[1:] = keys[1:] != keys[:-1]
        found_keys, found = keys[first], sources[first]
        if found_keys.size == 0:
            continue
        at_safe = np.minimum(np.searchsorted(found_keys, wanted_keys), found_keys.size - 1)
        match = found_keys[at_safe] == wanted_keys
        block = out[start : start + batch].ravel()
        block[slots[match]] = found[at_safe[match]]
        out[start : start + batch] = block.reshape(wanted.shape)
    return out
