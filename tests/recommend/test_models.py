"""Bought together, the metrics, top-K and the fusion, on numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from tenure.recommend.data import Interactions, encode, exclusion, read_raw
from tenure.recommend.metrics import score_lists
from tenure.recommend.models.fusion import fuse
from tenure.recommend.models.together import fit_together
from tenure.recommend.models.topk import NONE, top_k_dense, top_k_sparse
from tests.recommend.builders import EXCLUDE, build_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Interactions:
    wh = build_shop(tmp_path_factory.mktemp("models"))
    with wh.reader() as con:
        return encode(read_raw(con), exclusion(EXCLUDE))


def test_bought_together_support_confidence_and_lift(shop: Interactions) -> None:
    skus = list(shop.catalogue.skus)
    t1, c1 = skus.index("T1"), skus.index("C1")
    model = fit_together(shop, k=5, min_support=3)
    row = list(model.partners[t1])
    at = row.index(c1)
    # 11 baskets; T1 in 5, C1 in 4, both in 4.
    assert model.baskets == 11
    assert model.pairs[t1][at] == 4
    assert model.confidence[t1][at] == pytest.approx(4 / 5)
    assert model.lift[t1][at] == pytest.approx(4 * 11 / (5 * 4))
    assert model.score[t1][at] == pytest.approx(4 / np.sqrt(5 * 4))
    # Every other pair is in fewer than 3 baskets: under the minimum support.
    assert [skus[j] for j in row if j != NONE] == ["C1"]
    assert fit_together(shop, k=5, min_support=5).partners[t1][0] == NONE


def test_pairs_without_lift_are_dropped() -> None:
    # Item 0 is in every basket: with item 1 its lift is exactly 1, so it says nothing.
    baskets = sparse.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 0, 1]], float))

    class X:
        pass

    x = X()
    x.baskets = baskets  # type: ignore[attr-defined]
    model = fit_together(x, k=2, min_support=1)  # type: ignore[arg-type]
    assert model.partners[0][0] == NONE  # lift(0,1) = 3·4/(4·3) = 1, lift(0,2) = 2·4/(4·2) = 1
    assert model.partners[1][0] == NONE  # lift(1,2) = 1·4/(3·2) < 1
    assert fit_together(x, k=2, min_support=1).baskets == 4  # type: ignore[arg-type]


def test_metrics_match_a_hand_computation() -> None:
    lists = np.array([[1, 2, 3, 4], [5, 6, NONE, NONE]], np.int32)
    relevant = [{2, 4, 9}, {7}]
    popularity = np.full(10, 0.25)
    s = score_lists(lists, relevant, 4, 10, popularity)
    # User 1: hits at ranks 2 and 4, 3 relevant -> recall 2/3, AP = (1/2 + 2/4) / 3.
    d = 1 / np.log2(np.arange(2, 6))
    ndcg1 = (d[1] + d[3]) / d[:3].sum()
    assert s.recall == pytest.approx((2 / 3 + 0) / 2)
    assert s.map == pytest.approx(((1 / 2 + 2 / 4) / 3) / 2)
    assert s.ndcg == pytest.approx(ndcg1 / 2)
    assert s.coverage == pytest.approx(6 / 10)
    assert s.novelty == pytest.approx(2.0)


def test_recall_caps_at_k_as_otto_does() -> None:
    lists = np.array([[0, 1]], np.int32)
    s = score_lists(lists, [{0, 1, 2, 3, 4}], 2, 5, np.full(5, 0.5))
    assert s.recall == pytest.approx(1.0)


def test_top_k_dense_and_sparse_agree_and_pad() -> None:
    rng = np.random.default_rng(3)
    dense = rng.random((50, 30)).astype(np.float32)
    dense[dense < 0.7] = 0
    ids_s, val_s = top_k_sparse(sparse.csr_matrix(dense), 5)
    masked = np.where(dense > 0, dense, -np.inf).astype(np.float32)
    ids_d, val_d = top_k_dense(masked, 5)
    np.testing.assert_array_equal(ids_s, ids_d)
    np.testing.assert_allclose(val_s, val_d)
    ids, _ = top_k_dense(np.array([[1.0, -np.inf]], np.float32), 4)
    assert ids.tolist() == [[0, NONE, NONE, NONE]]


def test_fusion_adds_popular_items_skips_excluded_and_sums_both_ranks() -> None:
    ids = np.array([[3, 1, NONE], [NONE, NONE, NONE]], np.int32)
    popular = np.array([1, 2, 4], np.int32)
    exclude = sparse.csr_matrix(np.array([[0, 0, 1, 0, 0], [0, 1, 0, 0, 0]], np.float32))
    out, scores, personal = fuse(ids, popular, np.array([0, 1], np.int32), exclude, 0.5, 3)
    # User 0: item 1 is on both lists, so it passes item 3; item 2 is excluded; then item 4.
    assert out[0].tolist() == [1, 3, 4]
    assert personal[0].tolist() == [True, True, False]
    assert scores[0][0] == pytest.approx(1 / 61 + 0.5 / 60)
    # User 1 has no personal list and bought item 1: the popular list without it.
    assert out[1].tolist() == [2, 4, NONE]
    assert not personal[1].any()


def test_row_argmax_matches_a_dense_argmax() -> None:
    from tenure.recommend.models.neighbours import row_argmax

    rng = np.random.default_rng(5)
    dense = rng.random((40, 12)).astype(np.float32)
    dense[dense < 0.6] = 0
    dense[3] = 0  # an empty row
    got = row_argmax(sparse.csr_matrix(dense))
    want = np.where(dense.max(axis=1) > 0, dense.argmax(axis=1), NONE)
    np.testing.assert_array_equal(got, want)


def test_anchors_pick_the_history_item_that_explains_most() -> None:
    from tenure.recommend.models.neighbours import anchors

    # User 0 holds items 0 (weight 1) and 1 (weight 3); item 2 is similar to both (0.9 from 0,
    # 0.5 from 1: 0.9 < 1.5, so item 1 explains it); item 3 only to item 0; item 4 to none.
    history = sparse.csr_matrix(np.array([[1, 3, 0, 0, 0]], np.float32))
    similarity = sparse.csr_matrix(
        np.array([[0, 0, 0.9, 0.4, 0], [0, 0, 0.5, 0, 0], [0] * 5, [0] * 5, [0] * 5], np.float32)
    )
    ids = np.array([[2, 3, 4, NONE]], np.int32)
    got = anchors(history, similarity, np.array([0], np.int32), ids)
    assert got.tolist() == [[1, 0, NONE, NONE]]


def test_rank_factors_drops_excluded_and_inactive_items_and_keeps_the_order() -> None:
    from tenure.recommend.models.factors import Factors, rank_factors

    items = np.array([[5.0], [4.0], [3.0], [2.0], [1.0]], np.float32)  # item i scores 5 - i
    users = np.array([[1.0], [1.0]], np.float32)
    factors = Factors("als", users, items)
    exclude = sparse.csr_matrix(np.array([[1, 0, 1, 0, 0], [0] * 5], np.float32))
    ids, scores = rank_factors(
        factors, np.array([0, 1], np.int32), exclude, np.array([3], np.int32), 3
    )
    assert ids.tolist() == [[1, 4, NONE], [0, 1, 2]]
    assert scores[0].tolist() == [4.0, 1.0, 0.0]
