"""Offline evaluation of the co-visitation model on OTTO-format sessions, with OTTO's own metric.

The Kaggle "OTTO – Multi-Objective Recommender System" test set (otto-de/recsys-dataset,
`src/testset.py` and `src/labels.py`) cuts every test session at a random event: the events
before the cut are what a model sees; after it, the targets are the next click (one aid), the set
of aids carted and the set of aids ordered. A model proposes up to 20 aids per type and is scored
(`src/evaluate.py`) by

    recall_t = Σ_sessions |top20_t ∩ target_t| / Σ_sessions min(20, |target_t|)
    score = 0.10 · recall_clicks + 0.30 · recall_carts + 0.60 · recall_orders

where a session with no target of a type is left out of that type's sums.

The co-visitation predictor is Chris Deotte's public "Candidate ReRank Model" notebook (Kaggle,
Nov 2022), with `covisit_pairs` (time decay, carts 6 / orders 3) as its only matrix; see
`candidate_rerank` for where it departs from the notebook.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from os import PathLike
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from tenure.recommend.models.covisit import KIND_WEIGHTS, covisit_pairs

log = logging.getLogger(__name__)

OTTO_COLUMNS = ("session", "aid", "ts", "type")
# The stream's `kind` codes (view/click, cart, order), as models/covisit.py reads them.
OTTO_KINDS = {"clicks": 0, "carts": 1, "orders": 2}
TARGETS = ("clicks", "carts", "orders")
TARGET_WEIGHTS = {"clicks": 0.10, "carts": 0.30, "orders": 0.60}
MODELS = ("covisit", "history", "popular")
# The notebook's recency weights: logspace(start, 1, n, base 2) - 1 over the history, oldest
# first. Buys start higher (0.5) so old carts keep more of their weight than old clicks do.
CLICK_RECENCY_START = 0.1
BUY_RECENCY_START = 0.5
# The notebook keeps each aid's 20 best co-visited aids (top_20_clicks).
NEIGHBOURS = 20

Cut = Literal["random"] | float


def read_otto(path: str | PathLike[str]) -> pd.DataFrame:
    """An OTTO event file (`session,aid,ts,type`; ts in Unix milliseconds) as a frame.

    Raises ValueError naming the first missing column, a column with missing values, or an
    unknown event type.
    """
    frame = pd.read_csv(path)
    _check_columns(frame)
    return frame


def _check_columns(frame: pd.DataFrame) -> None:
    """Refuse a frame the stream cannot be built from, naming the column at fault."""
    for column in OTTO_COLUMNS:
        if column not in frame.columns:
            raise ValueError(
                f"OTTO frame has no column {column!r} (needs {', '.join(OTTO_COLUMNS)})"
            )
    for column in OTTO_COLUMNS:
        # factorize would code a missing id as -1, a real-looking item; refuse it instead.
        if frame[column].isna().any():
            raise ValueError(f"column {column!r} has missing values")
    unknown = set(pd.unique(frame["type"].astype(str))) - set(OTTO_KINDS)
    if unknown:
        raise ValueError(f"column 'type' has unknown event types {sorted(unknown)}")


def otto_stream(frame: pd.DataFrame) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    """The (user, item, ts, kind) stream `covisit_pairs` reads, and the aid of each item code.

    Users are the sessions' codes in ascending session id, items the aids' codes in order of
    first appearance (pd.factorize), ts whole seconds, kind 0 click, 1 cart, 2 order. Rows come
    back sorted by user then time, keeping the file's order for events in the same millisecond.
    """
    _check_columns(frame)
    users, _ = pd.factorize(frame["session"], sort=True)
    items, aids = pd.factorize(frame["aid"])
    ms = frame["ts"].to_numpy(dtype=np.int64)
    # lexsort is stable, so same-millisecond events keep the order the file gives them.
    order = np.lexsort((ms, users))
    stream = pd.DataFrame(
        {
            "user": users[order].astype(np.int32),
            "item": items[order].astype(np.int32),
            "ts": ms[order] // 1000,
            "kind": frame["type"].astype(str).map(OTTO_KINDS).to_numpy()[order].astype(np.int8),
        }
    )
    return stream, np.asarray(aids, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# The split


@dataclass(frozen=True)
class SessionSplit:
    """One session cut in two: the events a model sees, and what happened after the cut."""

    user: int
    items: npt.NDArray[np.int32]  # history, oldest first
    kinds: npt.NDArray[np.int8]
    targets: Mapping[str, frozenset[int]]  # clicks: the next click (0 or 1 aid); carts; orders


@dataclass(frozen=True)
class Split:
    """Every evaluable session cut, and the history events of all sessions (the training data)."""

    sessions: list[SessionSplit]
    history: pd.DataFrame  # stream rows before each session's cut
    skipped: int  # sessions with a single event: nothing to cut


def _cut_points(lengths: npt.NDArray[np.int64], seed: int, cut: Cut) -> npt.NDArray[np.int64]:
    """How many events each session keeps as history: 1 .. n-1, as OTTO's `split_events`.

    OTTO draws randint(1, n-1) inclusive over the n-1 events that have a label, which is
    integers(1, n) here; a fraction keeps floor(fraction · n), held inside 1 .. n-1.
    """
    if isinstance(cut, str):
        if cut != "random":
            raise ValueError(f"cut must be 'random' or a fraction in (0, 1), not {cut!r}")
        rng = np.random.default_rng(seed)
        return rng.integers(1, lengths)
    if not 0.0 < float(cut) < 1.0:
        raise ValueError(f"cut must be 'random' or a fraction in (0, 1), not {cut!r}")
    return np.clip(np.floor(float(cut) * lengths).astype(np.int64), 1, lengths - 1)


def split_sessions(stream: pd.DataFrame, seed: int = 0, cut: Cut = "random") -> Split:
    """Cut each session of a sorted stream (from `otto_stream`) with at least two events.

    The targets follow OTTO's `ground_truth`: the first click after the cut, and the sets of
    aids carted and ordered after it. A single-event session has no future to score, but its one
    event stays in the history (it is past data, not a target).
    """
    users = stream["user"].to_numpy()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.array([])
    starts = starts.astype(np.int64)
    lengths = np.diff(np.r_[starts, len(users)]).astype(np.int64)
    cutable = lengths >= 2
    keep = lengths.copy()
    if cutable.any():
        keep[cutable] = _cut_points(lengths[cutable], seed, cut)
    position = np.arange(len(users)) - np.repeat(starts, lengths)
    in_history = position < np.repeat(keep, lengths)
    items = stream["item"].to_numpy(dtype=np.int32)
    kinds = stream["kind"].to_numpy(dtype=np.int8)
    sessions = []
    for start, length, h in zip(starts[cutable], lengths[cutable], keep[cutable], strict=True):
        after = slice(start + h, start + length)
        f_items, f_kinds = items[after], kinds[after]
        clicks = f_items[f_kinds == OTTO_KINDS["clicks"]]
        targets = {
            "clicks": frozenset(clicks[:1].tolist()),
            "carts": frozenset(f_items[f_kinds == OTTO_KINDS["carts"]].tolist()),
            "orders": frozenset(f_items[f_kinds == OTTO_KINDS["orders"]].tolist()),
        }
        sessions.append(
            SessionSplit(
                user=int(users[start]),
                items=items[start : start + h],
                kinds=kinds[start : start + h],
                targets=targets,
            )
        )
    history = stream[in_history].reset_index(drop=True)
    return Split(sessions=sessions, history=history, skipped=int((~cutable).sum()))


# ---------------------------------------------------------------------------------------------
# The metric


@dataclass(frozen=True)
class Recall:
    """One type's recall as OTTO sums it over sessions (not a mean of per-session recalls)."""

    hits: int
    relevant: int  # Σ min(k, |target|) over the sessions with a target
    sessions: int  # sessions with a target of this type

    @property
    def value(self) -> float:
        """hits / relevant; NaN when no session has this target (OTTO would divide by zero)."""
        return self.hits / self.relevant if self.relevant else math.nan


@dataclass(frozen=True)
class OttoScore:
    """Recall@k per type and the weighted score of one model on one split."""

    recalls: Mapping[str, Recall]

    @property
    def score(self) -> float:
        """0.10 clicks + 0.30 carts + 0.60 orders; NaN when a type has no target at all."""
        return sum(TARGET_WEIGHTS[t] * self.recalls[t].value for t in TARGETS)

    def as_dict(self) -> dict[str, float | dict[str, int]]:
        """Recall per type, the score, and how many sessions had each target."""
        out: dict[str, float | dict[str, int]] = {t: self.recalls[t].value for t in TARGETS}
        out["score"] = self.score
        out["targets"] = {t: self.recalls[t].sessions for t in TARGETS}
        return out


def otto_score(
    predictions: Sequence[Mapping[str, Sequence[int]]],
    targets: Sequence[Mapping[str, Set[int]]],
    k: int = 20,
) -> OttoScore:
    """OTTO's recall@k per type over aligned per-session predictions and targets.

    Only the first k predictions of a type count, each aid once (OTTO takes set(pred[:k])).
    The click target is a set of at most one aid, so min(k, 1) = 1 makes it the same sum.
    """
    if len(predictions) != len(targets):
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} sessions")
    recalls = {}
    for kind in TARGETS:
        hits = relevant = sessions = 0
        for predicted, target in zip(predictions, targets, strict=True):
            wanted = target.get(kind, frozenset())
            if not wanted:
                continue
            hits += len(set(predicted.get(kind, ())[:k]) & set(wanted))
            relevant += min(k, len(wanted))
            sessions += 1
        recalls[kind] = Recall(hits=hits, relevant=relevant, sessions=sessions)
    return OttoScore(recalls)


# ---------------------------------------------------------------------------------------------
# The predictors


def by_recency(items: npt.NDArray[np.int32]) -> list[int]:
    """The distinct aids of a history, most recent first."""
    return list(dict.fromkeys(items[::-1].tolist()))


def weighted_history(
    items: npt.NDArray[np.int32], kinds: npt.NDArray[np.int8], k: int, recency_start: float
) -> list[int]:
    """The notebook's rerank of a long history: Σ recency × type weight per aid, k best.

    Ties keep the aid first seen (Counter.most_common's order, which the notebook relies on).
    """
    recency = np.logspace(recency_start, 1, len(items), base=2, endpoint=True) - 1
    weights = recency * np.asarray(KIND_WEIGHTS)[kinds]
    totals: dict[int, float] = {}
    for item, weight in zip(items.tolist(), weights.tolist(), strict=True):
        totals[item] = totals.get(item, 0.0) + weight
    ranked = sorted(totals.items(), key=lambda pair: pair[1], reverse=True)
    return [item for item, _ in ranked[:k]]


def covisited(covisit: sparse.csr_matrix, items: Sequence[int], n: int) -> list[int]:
    """Up to n aids not in `items`, by their co-visitation weights summed over `items`.

    Ties go to the lower item code, so a run is reproducible.
    """
    if n <= 0 or not items:
        return []
    rows = covisit[np.asarray(items, dtype=np.int64)]
    if rows.nnz == 0:
        return []
    columns, inverse = np.unique(rows.indices, return_inverse=True)
    totals = np.bincount(inverse, weights=rows.data)
    seen = set(items)
    out = []
    for j in np.lexsort((columns, -totals)):
        item = int(columns[j])
        if item not in seen:
            out.append(item)
            if len(out) == n:
                break
    return out


def top_up(ranked: list[int], popular: Sequence[int], k: int) -> list[int]:
    """The list filled to k with popular aids it does not hold yet.

    The notebook appends top_clicks without checking; a repeated aid would waste a slot.
    """
    seen = set(ranked)
    return ranked + [item for item in popular if item not in seen][: max(k - len(ranked), 0)]


def candidate_rerank(
    items: npt.NDArray[np.int32],
    kinds: npt.NDArray[np.int8],
    covisit: sparse.csr_matrix,
    popular: Sequence[int],
    k: int = 20,
    recency_start: float = CLICK_RECENCY_START,
) -> list[int]:
    """Deotte's `suggest_clicks` / `suggest_buys` for one session history, k aids.

    With k or more distinct aids, the history alone, reranked by recency × type weight (1/6/3).
    Otherwise the history by recency, then the co-visited aids of the whole history, then
    the popular aids. Departures from the notebook, each because of what this module has:
    one matrix (time decay and carts/orders weights together) stands in for its "clicks" and
    "carts-orders" matrices, there is no "buy2buy" matrix (its 14-day window needs another
    `covisit_pairs`), neighbours add up their weights rather than count their appearances, and
    buys fall back on the aids popular in the histories, not on the test week's top orders.
    """
    if len(set(items.tolist())) >= k:
        return weighted_history(items, kinds, k, recency_start)
    ranked = by_recency(items)
    ranked += covisited(covisit, ranked, k - len(ranked))
    return top_up(ranked, popular, k)


def most_popular(history: pd.DataFrame, n_items: int, k: int) -> list[int]:
    """The k aids with the most events in the history (ties: the lower code)."""
    counts = np.bincount(history["item"].to_numpy(), minlength=n_items)
    order = np.argsort(-counts, kind="stable")[:k]
    return [int(i) for i in order if counts[i] > 0]


def predict(
    split: Split, n_items: int, k: int = 20, neighbours: int = NEIGHBOURS
) -> dict[str, list[dict[str, list[int]]]]:
    """Each model's lists per session: co-visitation candidate rerank, own history, popularity.

    The co-visitation matrix and the popular aids come from `split.history` only, so no event
    after any cut is seen in training.
    """
    covisit = covisit_pairs(split.history, n_items, neighbours)
    popular = most_popular(split.history, n_items, k)
    out: dict[str, list[dict[str, list[int]]]] = {model: [] for model in MODELS}
    for s in split.sessions:
        clicks = candidate_rerank(s.items, s.kinds, covisit, popular, k, CLICK_RECENCY_START)
        buys = candidate_rerank(s.items, s.kinds, covisit, popular, k, BUY_RECENCY_START)
        out["covisit"].append({"clicks": clicks, "carts": buys, "orders": buys})
        own = by_recency(s.items)[:k]
        out["history"].append(dict.fromkeys(TARGETS, own))
        out["popular"].append(dict.fromkeys(TARGETS, popular))
    return out


# ---------------------------------------------------------------------------------------------
# The evaluation


def evaluate_split(
    stream: pd.DataFrame,
    n_items: int,
    seed: int = 0,
    k: int = 20,
    cut: Cut = "random",
    neighbours: int = NEIGHBOURS,
) -> tuple[Split, dict[str, OttoScore]]:
    """One cut of every session and each model's OTTO score on it."""
    split = split_sessions(stream, seed, cut)
    targets = [s.targets for s in split.sessions]
    lists = predict(split, n_items, k, neighbours)
    return split, {model: otto_score(lists[model], targets, k) for model in MODELS}


def _summary(values: Iterable[float]) -> dict[str, float | int]:
    """Mean and sample sd over the seeds where the value exists (NaN: no target that seed)."""
    defined = np.array([v for v in values if not math.isnan(v)], dtype=float)
    n = int(defined.size)
    return {
        "mean": float(defined.mean()) if n else math.nan,
        "sd": float(defined.std(ddof=1)) if n > 1 else math.nan,
        "defined": n,
    }


def evaluate_sessions(
    frame: pd.DataFrame,
    k: int = 20,
    seed: int = 0,
    cut: Cut = "random",
    seeds: int = 10,
    neighbours: int = NEIGHBOURS,
) -> dict[str, Any]:
    """OTTO's recall@k and weighted score for co-visitation, own history and popularity.

    Runs `seeds` cuts (seeds seed, seed+1, …), since a few sessions give noisy figures, and
    reports the mean and sample sd per model and type over the seeds where the type had a
    target. The frame is the only data: the co-visitation matrix and the popular aids are
    learned from the histories (before-cut events) of the same sessions whose futures are
    scored. No target event is seen in training, but there is no separate training period as
    in the competition (four weeks before the test week), so on a small excerpt co-visitation
    mostly links aids within one session, and every figure is far from a leaderboard's.
    With a fractional cut every seed gives the same split.
    """
    if k < 1 or seeds < 1:
        raise ValueError(f"k and seeds must be at least 1 (k={k}, seeds={seeds})")
    stream, aids = otto_stream(frame)
    runs = range(seed, seed + seeds)
    scored: dict[str, list[OttoScore]] = {model: [] for model in MODELS}
    split: Split | None = None
    for s in runs:
        split, scores = evaluate_split(stream, len(aids), s, k, cut, neighbours)
        for model, result in scores.items():
            scored[model].append(result)
        log.debug("seed %d: %s", s, {m: round(r.score, 4) for m, r in scores.items()})
    assert split is not None  # seeds >= 1
    models: dict[str, dict[str, Any]] = {}
    for model, results in scored.items():
        summary: dict[str, Any] = {
            t: _summary(r.recalls[t].value for r in results) for t in TARGETS
        }
        summary["score"] = _summary(r.score for r in results)
        summary["targets"] = {
            t: _summary(float(r.recalls[t].sessions) for r in results) for t in TARGETS
        }
        pairs = zip(runs, results, strict=True)
        summary["per_seed"] = [{"seed": s, **r.as_dict()} for s, r in pairs]
        models[model] = summary
    return {
        "sessions": len(split.sessions),
        "skipped": split.skipped,
        "events": len(stream),
        "items": len(aids),
        "k": k,
        "cut": cut,
        "seeds": list(runs),
        "models": models,
    }


def summary_table(result: Mapping[str, Any]) -> str:
    """The figures of `evaluate_sessions` as a plain-text table, mean ± sd per cell."""
    models = result["models"]
    header = f"{'model':<9}" + "".join(f"{name:>17}" for name in (*TARGETS, "score"))
    lines = [header]
    for model, summary in models.items():
        cells = [
            f"{summary[name]['mean']:.4f} ± {summary[name]['sd']:.4f}"
            for name in (*TARGETS, "score")
        ]
        lines.append(f"{model:<9}" + "".join(f"{cell:>17}" for cell in cells))
    first = next(iter(models.values()))
    counts = ", ".join(
        f"{t} {first['targets'][t]['mean']:.1f} ± {first['targets'][t]['sd']:.1f}" for t in TARGETS
    )
    lines.append(
        f"sessions {result['sessions']} (skipped {result['skipped']}), events {result['events']},"
        f" items {result['items']}, k {result['k']}, cut {result['cut']},"
        f" seeds {len(result['seeds'])}"
    )
    defined = first["score"]["defined"]
    if defined < len(result["seeds"]):
        lines.append(f"score over the {defined} seeds where every type had a target")
    lines.append(f"sessions with a target per seed: {counts}")
    return "\n".join(lines)
