"""OTTO's session metric, the cut of a session, the candidate rerank and the figures on real data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from tenure.recommend.sessions import (
    MODELS,
    TARGETS,
    candidate_rerank,
    evaluate_sessions,
    otto_score,
    otto_stream,
    read_otto,
    split_sessions,
    summary_table,
)
from tests.conftest import unavailable

T0_MS = 1_659_304_800_000  # 2022-07-31 22:00 UTC, where OTTO's data starts


def otto_frame(sessions: dict[int, list[tuple[int, str]]], step_ms: int = 1_000) -> pd.DataFrame:
    """An OTTO-format frame: each session's (aid, type) events step_ms apart, sessions an hour
    apart, so every session sits inside the co-visitation window."""
    rows = [
        (session, aid, T0_MS + session * 3_600_000 + i * step_ms, kind)
        for session, events in sessions.items()
        for i, (aid, kind) in enumerate(events)
    ]
    return pd.DataFrame(rows, columns=["session", "aid", "ts", "type"])


class TestMetric:
    """Recall is summed over sessions as OTTO's evaluate.py does, then weighted 0.1/0.3/0.6."""

    def test_recalls_and_score_match_the_hand_computed_values(self) -> None:
        big_carts = frozenset(range(100, 125))  # 25 carted aids: counts as min(20, 25) = 20
        targets = [
            {"clicks": frozenset({5}), "carts": frozenset({1, 2, 3}), "orders": frozenset({2})},
            # No cart and no order after the cut: left out of those two sums.
            {"clicks": frozenset({8}), "carts": frozenset(), "orders": frozenset()},
            # No click after the cut: left out of the click sum.
            {"clicks": frozenset(), "carts": big_carts, "orders": frozenset({100, 101})},
        ]
        predictions = [
            {"clicks": [5, 9], "carts": [1, 7], "orders": [2, 3]},
            {"clicks": [1, 2], "carts": [8], "orders": [8]},
            # 10 hits in the first 20; the 21st (110) is a target but past the cut-off.
            {
                "clicks": [100],
                "carts": [*range(100, 110), *range(200, 210), 110],
                "orders": [100, 300],
            },
        ]
        result = otto_score(predictions, targets, k=20)
        # clicks: (1 + 0) / (1 + 1); carts: (1 + 10) / (3 + 20); orders: (1 + 1) / (1 + 2).
        assert result.recalls["clicks"].value == pytest.approx(1 / 2)
        assert result.recalls["carts"].value == pytest.approx(11 / 23)
        assert result.recalls["orders"].value == pytest.approx(2 / 3)
        assert result.score == pytest.approx(0.1 * 1 / 2 + 0.3 * 11 / 23 + 0.6 * 2 / 3)
        assert {t: result.recalls[t].sessions for t in TARGETS} == {
            "clicks": 2,
            "carts": 2,
            "orders": 2,
        }

    def test_a_repeated_prediction_counts_once(self) -> None:
        targets = [{"clicks": frozenset(), "carts": frozenset({1, 2}), "orders": frozenset({1})}]
        result = otto_score([{"carts": [1, 1, 1], "orders": [1, 1]}], targets, k=20)
        assert result.recalls["carts"].value == pytest.approx(1 / 2)
        assert result.recalls["orders"].value == pytest.approx(1.0)

    def test_a_type_no_session_has_leaves_the_score_undefined(self) -> None:
        targets = [{"clicks": frozenset({1}), "carts": frozenset({1}), "orders": frozenset()}]
        result = otto_score([{t: [1] for t in TARGETS}], targets)
        assert result.recalls["clicks"].value == 1.0
        assert math.isnan(result.recalls["orders"].value)
        assert math.isnan(result.score)

    def test_misaligned_predictions_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="1 predictions for 2 sessions"):
            otto_score([{}], [{}, {}])


class TestReading:
    """The OTTO file becomes the stream covisit_pairs reads."""

    def test_a_missing_column_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "otto.csv"
        path.write_text("session,aid,type\n1,2,clicks\n")
        with pytest.raises(ValueError, match="'ts'"):
            read_otto(path)

    def test_an_unknown_event_type_is_rejected(self) -> None:
        frame = otto_frame({1: [(10, "clicks"), (11, "wishlist")]})
        with pytest.raises(ValueError, match="wishlist"):
            otto_stream(frame)

    def test_stream_has_codes_seconds_and_kinds_in_time_order(self) -> None:
        frame = pd.DataFrame(
            {
                "session": [7, 3, 3],
                "aid": [555, 444, 555],
                "ts": [1_659_304_802_999, 1_659_304_801_500, 1_659_304_800_250],
                "type": ["orders", "clicks", "carts"],
            }
        )
        stream, aids = otto_stream(frame)
        # Session 3 is user 0 (sessions sorted); its cart came first in time.
        assert stream["user"].tolist() == [0, 0, 1]
        assert aids[stream["item"]].tolist() == [555, 444, 555]
        assert stream["ts"].tolist() == [1_659_304_800, 1_659_304_801, 1_659_304_802]
        assert stream["kind"].tolist() == [1, 0, 2]
        assert str(stream["kind"].dtype) == "int8" and str(stream["ts"].dtype) == "int64"


class TestSplit:
    """Each session is cut with at least one event before and one after, as OTTO did."""

    def test_targets_are_the_next_click_and_the_later_carts_and_orders(self) -> None:
        frame = otto_frame(
            {
                1: [(1, "clicks"), (2, "clicks"), (2, "carts"), (3, "clicks"), (2, "orders"),
                    (4, "clicks"), (5, "carts")],
                2: [(9, "clicks"), (8, "clicks")],
            }
        )  # fmt: skip
        stream, aids = otto_stream(frame)
        split = split_sessions(stream, cut=0.5)
        first, second = split.sessions
        # Seven events keep floor(3.5) = 3; two keep 1.
        assert aids[first.items].tolist() == [1, 2, 2]
        assert first.kinds.tolist() == [0, 0, 1]
        assert {t: sorted(aids[list(v)].tolist()) for t, v in first.targets.items()} == {
            "clicks": [3],  # the next click only, not 4
            "carts": [5],  # the cart of 2 came before the cut
            "orders": [2],
        }
        assert aids[second.items].tolist() == [9]
        assert {t: aids[list(v)].tolist() for t, v in second.targets.items()} == {
            "clicks": [8],
            "carts": [],
            "orders": [],
        }
        assert len(split.history) == 4 and split.skipped == 0

    def test_random_cuts_leave_an_event_on_each_side_and_repeat_by_seed(self) -> None:
        lengths = [2, 3, 5, 40]
        frame = otto_frame(
            {s: [(100 * s + i, "clicks") for i in range(n)] for s, n in enumerate(lengths)}
        )
        stream, _ = otto_stream(frame)
        seen: set[tuple[int, int]] = set()
        for seed in range(200):
            split = split_sessions(stream, seed=seed)
            for s, n in zip(split.sessions, lengths, strict=True):
                assert 1 <= len(s.items) <= n - 1
                seen.add((n, len(s.items)))
            again = split_sessions(stream, seed=seed)
            assert [len(s.items) for s in again.sessions] == [len(s.items) for s in split.sessions]
        # Every cut of the 5-event session turns up: the draw is over 1 .. n-1.
        assert {h for n, h in seen if n == 5} == {1, 2, 3, 4}

    def test_a_single_event_session_is_history_but_not_scored(self) -> None:
        stream, _ = otto_stream(otto_frame({1: [(1, "clicks")], 2: [(2, "clicks"), (3, "clicks")]}))
        split = split_sessions(stream)
        assert len(split.sessions) == 1 and split.skipped == 1
        assert sorted(split.history["item"].tolist()) == [0, 1]

    def test_a_bad_cut_is_rejected(self) -> None:
        stream, _ = otto_stream(otto_frame({1: [(1, "clicks"), (2, "clicks")]}))
        with pytest.raises(ValueError, match="cut"):
            split_sessions(stream, cut=1.0)


class TestCandidateRerank:
    """Deotte's rules: a long history reranked, a short one extended by co-visited aids."""

    def test_a_long_history_is_ranked_by_recency_and_type(self) -> None:
        # 4 distinct aids >= k = 3: the history alone. Aid 2 was carted early (weight 6), aid
        # 4 clicked last; recency weights 2^linspace(0.1, 1, 4) - 1 = .072, .320, .624, 1.
        items = np.array([1, 2, 3, 4], dtype=np.int32)
        kinds = np.array([0, 1, 0, 0], dtype=np.int8)
        empty = sparse.csr_matrix((5, 5), dtype=np.float32)
        # 2: 6 x .320 = 1.92; 4: 1; 3: .624; 1 (.072) falls off.
        assert candidate_rerank(items, kinds, empty, [0], k=3) == [2, 4, 3]
        # Without the cart, recency alone.
        clicks = np.zeros(4, dtype=np.int8)
        assert candidate_rerank(items, clicks, empty, [0], k=3) == [4, 3, 2]

    def test_a_short_history_is_followed_by_co_visited_then_popular_aids(self) -> None:
        covisit = sparse.csr_matrix(
            (
                np.array([1.0, 5.0, 2.0, 2.5], dtype=np.float32),
                (np.array([1, 1, 2, 2]), np.array([2, 3, 4, 3])),
            ),
            shape=(8, 8),
        )
        items = np.array([1, 2, 1], dtype=np.int32)
        kinds = np.zeros(3, dtype=np.int8)
        # History by recency [1, 2]; co-visited 3 (5 + 2.5) then 4 (2); popular 2 is a repeat.
        assert candidate_rerank(items, kinds, covisit, [2, 7, 6], k=6) == [1, 2, 3, 4, 7, 6]


def planted_pairs(n_sessions: int = 300, n_pairs: int = 100, per_session: int = 4) -> pd.DataFrame:
    """Sessions of item pairs (2p, 2p + 1): the first clicked, the second clicked and carted,
    the last pair's second ordered. Pairs are drawn uniformly, so popularity knows nothing."""
    rng = np.random.default_rng(7)
    sessions = {}
    for s in range(n_sessions):
        events: list[tuple[int, str]] = []
        for p in rng.choice(n_pairs, size=per_session, replace=False):
            events += [
                (2 * int(p), "clicks"),
                (2 * int(p) + 1, "clicks"),
                (2 * int(p) + 1, "carts"),
            ]
        events.append((events[-1][0], "orders"))
        sessions[s] = events
    return otto_frame(sessions)


class TestEvaluation:
    """Co-visitation against popularity and the session's own history."""

    def test_co_visitation_finds_planted_pairs_that_popularity_cannot(self) -> None:
        result = evaluate_sessions(planted_pairs(), seeds=3)
        models = result["models"]
        score = {m: models[m]["score"]["mean"] for m in MODELS}
        assert score["covisit"] > score["popular"] + 0.1
        assert score["covisit"] > score["history"] + 0.1
        # A third of the cuts fall just after a pair's first click, whose partner comes next:
        # only the co-visited aids hold it (the history never has the next click here).
        clicks = {m: models[m]["clicks"]["mean"] for m in MODELS}
        assert clicks["covisit"] > clicks["popular"] + 0.2
        assert clicks["covisit"] > clicks["history"] + 0.2

    def test_the_result_has_every_model_type_and_target_count(self) -> None:
        result = evaluate_sessions(planted_pairs(n_sessions=30), seeds=2, seed=5)
        assert result["seeds"] == [5, 6] and result["sessions"] == 30
        models = result["models"]
        assert set(models) == set(MODELS)
        for summary in models.values():
            assert set(summary) == {*TARGETS, "score", "targets", "per_seed"}
            assert len(summary["per_seed"]) == 2
            assert 0 < summary["targets"]["carts"]["mean"] <= 30
        assert "covisit" in summary_table(result)

    def test_on_the_otto_excerpt_co_visitation_scores_at_least_popularity(
        self, real_data: Path
    ) -> None:
        path = real_data / "otto_sample.csv"
        if not path.is_file():
            unavailable(f"{path} not found")
        result = evaluate_sessions(read_otto(path), seeds=10)
        print("\n" + summary_table(result))  # the figures, with pytest -s
        models = result["models"]
        assert result["sessions"] > 0
        # A seed whose cuts leave no order (or cart, or click) has no score; some must have one.
        assert models["covisit"]["score"]["defined"] >= 1
        assert models["covisit"]["score"]["mean"] >= models["popular"]["score"]["mean"]
