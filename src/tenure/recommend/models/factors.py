"""Implicit-feedback matrix factorisation with the `implicit` package: ALS (Hu, Koren &
Volinsky) on confidence 1 + alpha·log(1 + signal), and BPR on the same items as positives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse

from tenure.recommend.models.topk import NONE

Algorithm = Literal["als", "bpr"]


@dataclass(frozen=True)
class Factors:
    """User and item vectors; a user's score for an item is their dot product."""

    algorithm: str
    users: npt.NDArray[np.float32]
    items: npt.NDArray[np.float32]


@dataclass(frozen=True)
class FactorParams:
    """Chosen on Online Retail's time split (bench/README.md): recall@10 moved by under 5 %
    over factors 32-128, alpha 0.5-2 and regularization 0.01-1; alpha 10+ lost 20-35 %."""

    factors: int = 64
    iterations: int = 15
    regularization: float = 0.1
    alpha: float = 2.0
    learning_rate: float = 0.05
    seed: int = 7


def confidence(signal: sparse.csr_matrix, alpha: float) -> sparse.csr_matrix:
    """alpha·log(1 + signal): repeated orders count, with diminishing returns."""
    out = signal.tocsr().astype(np.float32, copy=True)
    out.data = (alpha * np.log1p(out.data)).astype(np.float32)
    return out


def fit_factors(
    signal: sparse.csr_matrix, algorithm: Algorithm = "als", params: FactorParams | None = None
) -> Factors:
    """Fit ALS or BPR on a users × items signal matrix."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    from threadpoolctl import threadpool_limits

    params = params or FactorParams()
    # implicit warns and slows down when BLAS runs its own threads inside its own.
    with threadpool_limits(1, "blas"):
        if algorithm == "als":
            model = AlternatingLeastSquares(
                factors=params.factors,
                regularization=params.regularization,
                iterations=params.iterations,
                random_state=params.seed,
            )
            model.fit(confidence(signal, params.alpha), show_progress=False)
        else:
            model = BayesianPersonalizedRanking(
                factors=params.factors,
                learning_rate=params.learning_rate,
                regularization=params.regularization,
                iterations=params.iterations * 6,
                random_state=params.seed,
            )
            binary = signal.tocsr().astype(np.float32, copy=True)
            binary.data[:] = 1.0
            model.fit(binary, show_progress=False)
    return Factors(
        algorithm,
        np.ascontiguousarray(model.user_factors, dtype=np.float32),
        np.ascontiguousarray(model.item_factors, dtype=np.float32),
    )


def rank_factors(
    factors: Factors,
    users: npt.NDArray[np.int32],
    exclude: sparse.csr_matrix,
    inactive: npt.NDArray[np.int32],
    k: int,
    batch: int = 20_000,
    spare: int = 200,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Each user's k best items by dot product, without their excluded and the inactive items.

    implicit's per-user filter walks the users in Python (about 90 µs each); instead each
    batch asks for k plus as many items as its users exclude (at most `spare` more) and drops
    the excluded ones here. A user who excluded more than that may get fewer than k items; the
    serving rules fill the list from the cold-start lists.
    """
    from implicit.cpu.topk import topk
    from threadpoolctl import threadpool_limits

    ids = np.full((users.size, k), NONE, np.int32)
    scores = np.zeros((users.size, k), np.float32)
    n_items = factors.items.shape[0]
    if min(k, n_items) == 0 or users.size == 0:
        return ids, scores
    filter_items = inactive.astype(np.int32) if inactive.size else None
    for start in range(0, users.size, batch):
        chunk = users[start : start + batch]
        banned = exclude[chunk].tocsr()
        extra = min(int(np.diff(banned.indptr).max(initial=0)), spare)
        want = min(k + extra, n_items)
        # implicit's threads each call BLAS; BLAS threads of their own only contend.
        with threadpool_limits(1, "blas"):
            got, val = topk(
                factors.items,
                factors.users[chunk],
                want,
                filter_items=filter_items,
                num_threads=0,
            )
        # implicit scores a filtered item -FLT_MAX (finite) when it has to fill the list.
        bad = ~np.isfinite(val) | (got < 0) | (val <= np.finfo(np.float32).min / 2)
        rows = np.repeat(np.arange(chunk.size, dtype=np.int64), want).reshape(got.shape)
        keys = rows * n_items + np.where(bad, 0, got)
        banned_rows = np.repeat(np.arange(chunk.size, dtype=np.int64), np.diff(banned.indptr))
        bad |= np.isin(keys, banned_rows * n_items + banned.indices)
        # Keep the order, move the dropped ones to the end, cut at k.
        order = np.argsort(bad, axis=1, kind="stable")[:, :k]
        got = np.take_along_axis(got, order, axis=1)
        val = np.take_along_axis(val, order, axis=1)
        dropped = np.take_along_axis(bad, order, axis=1)
        got[dropped], val[dropped] = NONE, 0.0
        width = got.shape[1]
        ids[start : start + chunk.size, :width] = got
        scores[start : start + chunk.size, :width] = val
    return ids, scores
