"""RFM on the hand-made shop: scores, named segments, distribution, transitions, scores table."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tenure.analytics.base import InvalidQuery
from tenure.segments.rfm import (
    STANDARD_SEGMENTS,
    RfmQuery,
    RfmResult,
    RfmRule,
    RfmRunner,
    rfm_table,
)
from tenure.segments.runs import run_rfm
from tenure.storage.warehouse import Warehouse
from tests.segments.builders import AS_OF, build_shop

# Worked out by hand from the shop (n = 8 customers, score = 1 + 5 * rank // 8, ties share).
EXPECTED = {
    #      recency, orders, net revenue, score, segment
    "u1": (1, 3, 220, "445", "Loyal"),
    "u2": (6, 1, 40, "412", "Promising"),
    "u3": (11, 2, 60, "322", "About to Sleep"),
    "u4": (107, 2, 210, "124", "Lost"),
    "u5": (243, 1, 15, "111", "Lost"),
    "u6": (85, 2, 60, "222", "Hibernating"),
    "u7": (59, 5, 100, "254", "Can't Lose"),
    "u8": (0, 1, 5, "511", "New"),
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_shop(tmp_path_factory.mktemp("rfm"))


def _run(shop: Warehouse, **query: object) -> RfmResult:
    with shop.reader() as con:
        return RfmRunner(RfmQuery.model_validate(query), ZoneInfo("UTC"))(con)


class TestScores:
    def test_every_customer_gets_the_hand_computed_scores_and_segment(
        self, shop: Warehouse
    ) -> None:
        with shop.reader() as con:
            frame = rfm_table(con, ZoneInfo("UTC"), AS_OF).execute()
        got = {
            r.user_id: (r.recency_days, r.frequency, float(r.monetary), r.score, r.segment)
            for r in frame.itertuples()
        }
        assert got == {k: (v[0], v[1], float(v[2]), v[3], v[4]) for k, v in EXPECTED.items()}

    def test_guests_cancelled_orders_and_prospects_are_not_customers(self, shop: Warehouse) -> None:
        with shop.reader() as con:
            ids = set(rfm_table(con, ZoneInfo("UTC"), AS_OF).execute().user_id)
        assert "p1" not in ids and None not in ids and len(ids) == 8

    def test_equal_values_always_share_a_score(self, shop: Warehouse) -> None:
        with shop.reader() as con:
            frame = rfm_table(con, ZoneInfo("UTC"), AS_OF).execute().set_index("user_id")
        # u3 and u6 both spent 60 net; u3, u4 and u6 all have two orders.
        assert frame.loc["u3", "m"] == frame.loc["u6", "m"] == 2
        assert set(frame.loc[["u3", "u4", "u6"], "f"]) == {2}

    def test_an_earlier_day_only_sees_orders_up_to_it(self, shop: Warehouse) -> None:
        with shop.reader() as con:
            frame = (
                rfm_table(con, ZoneInfo("UTC"), date(2023, 12, 31)).execute().set_index("user_id")
            )
        assert sorted(frame.index) == ["u3", "u4", "u5", "u7"]
        assert frame.loc["u7", "frequency"] == 3 and frame.loc["u4", "recency_days"] == 16


class TestStandardSegments:
    def test_each_cell_of_the_five_by_five_grid_has_exactly_one_name(self) -> None:
        for r in range(1, 6):
            for f in range(1, 6):
                names = [
                    s.name
                    for s in STANDARD_SEGMENTS
                    if s.r[0] <= r <= s.r[1] and s.f[0] <= f <= s.f[1]
                ]
                assert len(names) == 1, (r, f, names)

    def test_the_eleven_standard_names_are_all_there(self) -> None:
        assert [s.name for s in STANDARD_SEGMENTS] == [
            "Champions", "Loyal", "Can't Lose", "At Risk", "Potential Loyalist", "New",
            "Promising", "Need Attention", "About to Sleep", "Hibernating", "Lost",
        ]  # fmt: skip


class TestDistribution:
    def test_segments_count_users_with_their_averages(self, shop: Warehouse) -> None:
        result = _run(shop, as_of="2024-03-31")
        table = {s.segment: (s.users, s.share, s.recency_days, s.revenue) for s in result.segments}
        assert result.customers == 8
        assert table["Lost"] == (2, 0.25, 175.0, 225.0)
        assert table["Loyal"] == (1, 0.125, 1.0, 220.0)
        assert sum(s.users for s in result.segments) == 8

    def test_the_default_day_is_the_last_day_with_an_order(self, shop: Warehouse) -> None:
        assert _run(shop).as_of == AS_OF

    def test_the_grid_counts_users_per_r_and_f(self, shop: Warehouse) -> None:
        grid = {(c.r, c.f): c.users for c in _run(shop).grid}
        assert grid == {
            (4, 4): 1,
            (4, 1): 1,
            (3, 2): 1,
            (1, 2): 1,
            (1, 1): 1,
            (2, 2): 1,
            (2, 5): 1,
            (5, 1): 1,
        }

    def test_configured_segments_replace_the_standard_ones(self, shop: Warehouse) -> None:
        rules = [RfmRule(name="Big spenders", m=(4, 5)), RfmRule(name="Everyone else")]
        result = _run(shop, segments=rules)
        assert {s.segment: s.users for s in result.segments} == {
            "Big spenders": 3,
            "Everyone else": 5,
        }


class TestTransitions:
    def test_the_matrix_shows_where_each_segment_went(self, shop: Warehouse) -> None:
        result = _run(shop, as_of="2024-03-31", compare_to="2023-12-31")
        moves = {(t.source, t.target): t.users for t in result.transitions}
        # Customers on 2023-12-31: u3, u4, u5, u7; the other four were not customers yet.
        assert sum(n for (s, _), n in moves.items() if s == "(not a customer)") == 4
        assert sum(moves.values()) == 8
        assert {t for (s, t) in moves if s == "(not a customer)"} == {
            "Loyal", "Promising", "Hibernating", "New",
        }  # fmt: skip

    def test_the_comparison_day_must_come_first(self, shop: Warehouse) -> None:
        with pytest.raises(InvalidQuery):
            _run(shop, as_of="2024-01-01", compare_to="2024-02-01")

    def test_rules_beyond_the_bins_are_refused(self, shop: Warehouse) -> None:
        with pytest.raises(InvalidQuery):
            _run(shop, bins=3, segments=[RfmRule(name="x", r=(4, 5))])


class TestSavedScores:
    def test_saving_writes_one_scores_row_per_customer_under_model_rfm(
        self, tmp_path: Path
    ) -> None:
        shop = build_shop(tmp_path)
        _, written = run_rfm(shop, ZoneInfo("UTC"), RfmQuery(), save=True)
        _, again = run_rfm(
            shop, ZoneInfo("UTC"), RfmQuery(), save=True
        )  # a rerun replaces, never doubles
        with shop.reader() as con:
            rows = con.table("scores").execute()
        assert written == again == 8 and len(rows) == 8
        assert set(rows.model) == {"rfm"} and set(rows.version) == {"2024-03-31"}
        values = {r.user_id: json.loads(r.values) for r in rows.itertuples()}
        assert values["u7"]["segment"] == "Can't Lose"
        assert (values["u1"]["r"], values["u1"]["f"], values["u1"]["m"]) == (4, 4, 5)
        assert values["u6"]["monetary"] == 60
