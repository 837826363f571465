"""Honest offline evaluation: train on what happened before a cut-off, score each model's
lists against what customers bought in the following days.

The task is discovery: the relevant items of a customer are those bought in the test window
that they had not bought before the cut-off (served lists leave bought items out, unless
repeatable). Customers with no history before the cut-off are scored apart, on the cold-start
lists (popular, trending, starter). Every model, and the popularity baseline, is scored on the
same customers with the same metrics (metrics.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from ibis.backends import BaseBackend
from scipy import sparse

from tenure.recommend.data import Interactions, encode, exclusion, order_lines, read_raw
from tenure.recommend.errors import BadEvaluation, NoData
from tenure.recommend.metrics import score_lists
from tenure.recommend.models.covisit import fit_covisit
from tenure.recommend.models.factors import FactorParams, Factors, fit_factors
from tenure.recommend.models.neighbours import rank_neighbours
from tenure.recommend.models.popular import Ranked, cold_start
from tenure.recommend.models.together import fit_together
from tenure.recommend.models.topk import NONE
from tenure.recommend.serve import Recommender
from tenure.recommend.train import (
    FactorFitter,
    TrainConfig,
    personal_ranking,
    train,
)

MODELS = ("popular_all_time", "popular", "together", "covisit", "als", "bpr", "served")


@dataclass(frozen=True)
class EvaluationConfig:
    days: int = 30
    k: int = 10
    cutoff: date | None = None
    models: tuple[str, ...] = MODELS


Lists = npt.NDArray[np.int32]


def _global(order: list[int], users: npt.NDArray[np.int32], x: Interactions, k: int) -> Lists:
    """One ranked list for everyone, each user's excluded items skipped."""
    exclude = x.excluded
    out = np.full((users.size, k), NONE, np.int32)
    for n, user in enumerate(users):
        banned = set(exclude.indices[exclude.indptr[user] : exclude.indptr[user + 1]].tolist())
        row = [i for i in order if i not in banned][:k]
        out[n, : len(row)] = row
    return out


def _test_window(con: BaseBackend, cut: datetime, end: datetime, x: Interactions) -> pd.DataFrame:
    rows = order_lines(con, None)
    rows = rows.filter(
        (rows.ts >= cut)
        & (rows.ts < end)
        & (rows.status == "paid")
        & (rows.quantity > 0)
        & (rows.unit_price > 0)
        & rows.user_id.notnull()
    )
    test = rows.select("user_id", "sku").distinct().execute()
    items = pd.Index(x.catalogue.skus)
    users = pd.Index(x.users)
    return test.assign(
        user=users.get_indexer(test["user_id"].astype(str)),
        item=items.get_indexer(test["sku"].astype(str)),
    )


def _relevant(test: pd.DataFrame, x: Interactions) -> tuple[npt.NDArray[np.int32], list[set[int]]]:
    """Known users and the items they bought in the window that they had not bought before."""
    known = test[(test["user"] >= 0) & (test["item"] >= 0)]
    bought = x.bought.tocsr()
    relevant: dict[int, set[int]] = {}
    for user, item in zip(known["user"], known["item"], strict=True):
        if bought[user, item] == 0:
            relevant.setdefault(int(user), set()).add(int(item))
    users = np.array(sorted(relevant), dtype=np.int32)
    return users, [relevant[int(u)] for u in users]


def _cold(test: pd.DataFrame) -> list[set[int]]:
    """New customers' purchases in the window (items the model knows)."""
    new = test[(test["user"] < 0) & (test["item"] >= 0)]
    return [set(group["item"].tolist()) for _, group in new.groupby("user_id")]


def _ranked_list(ranked: Ranked, k: int, n_users: int) -> Lists:
    row = np.full(k, NONE, np.int32)
    row[: min(k, len(ranked.items))] = ranked.items[:k]
    return np.tile(row, (n_users, 1))


def evaluate(
    con: BaseBackend,
    zone: ZoneInfo,
    exclude_skus: str = "",
    config: EvaluationConfig | None = None,
    train_config: TrainConfig | None = None,
) -> dict[str, Any]:
    """Score every model on the window after the cut-off (default: the data's last `days`)."""
    config = config or EvaluationConfig()
    train_config = train_config or TrainConfig()
    newest = con.table("orders").ts.max().execute()
    if newest is None or pd.isna(newest):
        raise NoData()
    data_end = pd.Timestamp(newest).to_pydatetime()
    if config.cutoff is not None:
        cut = datetime.combine(config.cutoff, datetime.min.time(), zone)
    else:
        cut = data_end - timedelta(days=config.days)
    window_end = cut + timedelta(days=config.days)
    x = encode(read_raw(con, before=cut), exclusion(exclude_skus))
    if x.empty:
        raise BadEvaluation("recommend_no_training_data", cutoff=cut.date().isoformat())
    test = _test_window(con, cut, window_end, x)
    users, relevant = _relevant(test, x)
    if users.size == 0:
        raise BadEvaluation(
            "recommend_no_test_purchases",
            cutoff=cut.date().isoformat(),
            end=window_end.date().isoformat(),
        )
    k = config.k
    popularity = np.asarray((x.bought > 0).sum(axis=0)).ravel() / max(x.bought.shape[0], 1)
    inactive = ~x.catalogue.active
    exclude = x.excluded
    hist = x.history

    def timed(build: Callable[[], Lists]) -> tuple[Lists, float]:
        start = time.perf_counter()
        lists = build()
        return lists, time.perf_counter() - start

    cold = cold_start(x, k=max(k, 50))
    empty = sparse.csr_matrix((x.catalogue.size, x.catalogue.size), dtype=np.float32)
    builders: dict[str, Callable[[], Lists]] = {
        "popular_all_time": lambda: _global(
            [int(i) for i in np.argsort(-popularity, kind="stable")[: 10 * k]], users, x, k
        ),
        "popular": lambda: _global(cold.popular.items, users, x, k),
        "together": lambda: rank_neighbours(
            hist,
            fit_together(x, 50, train_config.min_support).similarity(),
            users,
            exclude,
            inactive,
            k,
        )[0],
        "covisit": lambda: rank_neighbours(
            hist, fit_covisit(x, 50).matrix, users, exclude, inactive, k
        )[0],
        "als": lambda: personal_ranking(
            x, replace(train_config, personal="als"), empty, _fitter("als"), users, k
        )[0],
        "bpr": lambda: personal_ranking(
            x, replace(train_config, personal="bpr"), empty, _fitter("bpr"), users, k
        )[0],
        "served": lambda: _served(x, train_config, users, k),
    }
    rows: list[dict[str, Any]] = []
    for name in config.models:
        if name not in builders:
            raise BadEvaluation("recommend_unknown_model", model=name, known=", ".join(MODELS))
        lists, seconds = timed(builders[name])
        scores = score_lists(lists, relevant, k, x.catalogue.size, popularity)
        rows.append({"model": name, **scores.as_dict(), "seconds": round(seconds, 3)})
    cold_truth = _cold(test)
    cold_rows = []
    if cold_truth:
        for name, ranked in (
            ("popular", cold.popular),
            ("trending", cold.trending),
            ("starter", cold.starter),
        ):
            lists = _ranked_list(ranked, k, len(cold_truth))
            scores = score_lists(lists, cold_truth, k, x.catalogue.size, popularity)
            cold_rows.append({"model": name, **scores.as_dict()})
    baseline = next((r["recall"] for r in rows if r["model"] == "popular"), None)
    best = max(
        (r for r in rows if r["model"] != "popular"), key=lambda r: r["recall"], default=None
    )
    return {
        "cutoff": cut.date().isoformat(),
        "window_end": window_end.date().isoformat(),
        "k": k,
        "users": int(users.size),
        "train_users": int(x.users.size),
        "items": int(x.catalogue.size),
        "models": rows,
        "cold_start": {"users": len(cold_truth), "models": cold_rows},
        "best": best["model"] if best else None,
        "best_over_popular": round(best["recall"] / baseline, 2) if best and baseline else None,
    }


def _fitter(algorithm: str) -> FactorFitter:
    def fit(signal: sparse.csr_matrix, params: FactorParams) -> Factors:
        return fit_factors(signal, algorithm, params)  # type: ignore[arg-type]

    return fit


def _served(x: Interactions, config: TrainConfig, users: npt.NDArray[np.int32], k: int) -> Lists:
    """What the API would answer: the trained artefact read through the serving rules."""
    artefact, summary = train(x, config)
    rec = Recommender("evaluation", artefact, summary)
    out = np.full((users.size, k), NONE, np.int32)
    for n, user in enumerate(users):
        picks, _ = rec.for_user(str(x.users[user]), k)
        out[n, : len(picks)] = [p.item for p in picks]
    return out
