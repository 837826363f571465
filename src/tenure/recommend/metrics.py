"""Offline ranking metrics at a cut-off k (recall as OTTO scores it: hits / min(k, relevant))."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NONE = -1


@dataclass(frozen=True)
class Scores:
    """Means over the evaluated users, and over the catalogue for coverage."""

    users: int
    recall: float
    ndcg: float
    map: float
    coverage: float
    novelty: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "users": self.users,
            "recall": round(self.recall, 4),
            "ndcg": round(self.ndcg, 4),
            "map": round(self.map, 4),
            "coverage": round(self.coverage, 4),
            "novelty": round(self.novelty, 3),
        }


def score_lists(
    lists: npt.NDArray[np.int32],
    relevant: Sequence[set[int]],
    k: int,
    n_items: int,
    popularity: npt.NDArray[np.float64],
) -> Scores:
    """Recall@k, NDCG@k, MAP@k per user (averaged), catalogue coverage and novelty.

    Novelty is the mean self-information -log2(p) of the recommended items, p being the share
    of training users who bought the item (Zhou et al. 2010): higher means less obvious.
    """
    top = lists[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recall = np.zeros(len(relevant))
    ndcg = np.zeros(len(relevant))
    ap = np.zeros(len(relevant))
    for n, (row, rel) in enumerate(zip(top, relevant, strict=True)):
        if not rel:
            continue
        hits = np.array([item in rel for item in row], dtype=bool) & (row != NONE)
        cap = min(k, len(rel))
        recall[n] = hits.sum() / cap
        ndcg[n] = (discounts * hits).sum() / discounts[:cap].sum()
        precision_at = np.cumsum(hits) / np.arange(1, k + 1)
        ap[n] = (precision_at * hits).sum() / cap
    shown = top[top != NONE]
    p = np.clip(popularity, 1e-12, None)
    return Scores(
        users=len(relevant),
        recall=float(recall.mean()) if len(relevant) else 0.0,
        ndcg=float(ndcg.mean()) if len(relevant) else 0.0,
        map=float(ap.mean()) if len(relevant) else 0.0,
        coverage=float(np.unique(shown).size / max(n_items, 1)),
        novelty=float(np.mean(-np.log2(p[shown]))) if shown.size else 0.0,
    )
