"""Frequently bought together: item pairs counted over baskets (paid orders), with support,
confidence and lift; partners ranked by cosine (confidence both ways, so a bestseller that is
in every basket does not top every list)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from tenure.recommend.data import Interactions
from tenure.recommend.models.topk import NONE, top_k_sparse


@dataclass(frozen=True)
class Together:
    """Per item: its K partners (NONE-padded), with pair count, confidence and lift."""

    partners: npt.NDArray[np.int32]  # items × K
    score: npt.NDArray[np.float32]  # cosine
    pairs: npt.NDArray[np.int32]  # baskets holding both
    confidence: npt.NDArray[np.float32]  # P(partner | item)
    lift: npt.NDArray[np.float32]
    baskets: int

    def similarity(self) -> sparse.csr_matrix:
        """The kept pairs as an items × items matrix of cosine scores."""
        n, k = self.partners.shape
        rows = np.repeat(np.arange(n), k)
        cols = self.partners.ravel()
        keep = cols != NONE
        return sparse.csr_matrix(
            (self.score.ravel()[keep], (rows[keep], cols[keep])), shape=(n, n), dtype=np.float32
        )


def fit_together(x: Interactions, k: int = 50, min_support: int = 3) -> Together:
    """Count pairs over baskets; keep those in at least `min_support` baskets with lift > 1."""
    baskets = x.baskets.tocsc().astype(np.float32)
    n_baskets = baskets.shape[0]
    counts = np.asarray(baskets.sum(axis=0)).ravel()
    co = (baskets.T @ baskets).tocsr()
    co = (co - sparse.diags(co.diagonal())).tocsr()  # setdiag(0) inserts, which is slow
    co.eliminate_zeros()
    co.data[co.data < min_support] = 0
    co.eliminate_zeros()
    rows = np.repeat(np.arange(co.shape[0]), np.diff(co.indptr))
    n_i, n_j = counts[rows], counts[co.indices]
    lift = co.data * n_baskets / np.maximum(n_i * n_j, 1)
    cosine = np.where(lift > 1, co.data / np.sqrt(np.maximum(n_i * n_j, 1)), 0).astype(np.float32)
    ranked = sparse.csr_matrix((cosine, co.indices, co.indptr), shape=co.shape)
    partners, score = top_k_sparse(ranked, k)
    found = partners != NONE
    safe = np.where(found, partners, 0)
    pair_counts = np.zeros(partners.shape, np.float64)
    row_ids = np.repeat(np.arange(partners.shape[0]), partners.shape[1]).reshape(partners.shape)
    pair_counts[found] = np.asarray(co[row_ids[found], safe[found]]).ravel()
    own = counts[:, None]
    confidence = np.where(found, pair_counts / np.maximum(own, 1), 0)
    lifts = np.where(found, pair_counts * n_baskets / np.maximum(own * counts[safe], 1), 0)
    return Together(
        partners=partners,
        score=score,
        pairs=pair_counts.astype(np.int32),
        confidence=confidence.astype(np.float32),
        lift=lifts.astype(np.float32),
        baskets=int(n_baskets),
    )
