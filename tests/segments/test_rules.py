"""The segment rule language: errors that point at the wrong part, and what each rule matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tenure.segments.compile import Compiler
from tenure.segments.errors import RuleError
from tenure.segments.lifecycle import LifecycleQuery
from tenure.segments.rfm import RfmQuery
from tenure.segments.rules import parse
from tenure.segments.runs import run_lifecycle, run_rfm
from tenure.storage.warehouse import Warehouse
from tests.segments.builders import AS_OF, build_shop

ALL = {"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "p1"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    wh = build_shop(tmp_path_factory.mktemp("rules"))
    run_rfm(wh, ZoneInfo("UTC"), RfmQuery(), save=True)
    run_lifecycle(wh, None, ZoneInfo("UTC"), LifecycleQuery(), save=True)
    return wh


def match(shop: Warehouse, rule: Any, tags: dict[str, list[str]] | None = None) -> set[str]:
    with shop.reader() as con:
        frame = Compiler(con, ZoneInfo("UTC"), AS_OF, tags).members(parse(rule)).execute()
    return set(frame.user_id)


def error_of(rule: Any) -> tuple[str, str]:
    with pytest.raises(RuleError) as caught:
        parse(rule)
    return caught.value.data["path"], caught.value.data["reason"]


class TestErrorsPointAtTheWrongPart:
    def test_an_unknown_feature_names_its_path_and_the_known_ones(self) -> None:
        path, reason = error_of({"all": [{"field": "feature.orders", "op": "gt", "value": 1},
                                          {"field": "feature.ordrs", "op": "gt", "value": 1}]})  # fmt: skip
        assert path == "$.all[1].field"
        assert "feature.ordrs" in reason and "feature.orders" in reason

    def test_a_bad_operator_deep_inside(self) -> None:
        rule = {"any": [{"not": {"all": [{"field": "rfm.r", "op": "bigger", "value": 3}]}}]}
        assert error_of(rule)[0] == "$.any[0].not.all[0].op"

    def test_a_text_value_for_a_number_field(self) -> None:
        path, reason = error_of({"field": "feature.revenue", "op": "gte", "value": "lots"})
        assert path == "$.value" and "numbers" in reason

    def test_an_empty_group_and_an_unknown_node(self) -> None:
        assert error_of({"all": []})[0] == "$.all"
        assert error_of({"every": [1]})[0] == "$"

    def test_extra_keys_are_refused_where_they_stand(self) -> None:
        assert error_of({"tag": "vip", "colour": "red"})[0] == "$.colour"

    def test_behaviour_needs_a_valid_activity_and_window(self) -> None:
        assert error_of({"did": "ordr"})[0] == "$.did"
        assert error_of({"did": "order", "not_followed_by": "order"})[0] == "$.within_hours"
        assert error_of({"did": "order", "at_least": 3, "at_most": 1})[0] == "$.at_most"

    def test_between_and_in_need_lists(self) -> None:
        assert (
            error_of({"field": "feature.orders", "op": "between", "value": [5, 1]})[0] == "$.value"
        )
        assert error_of({"field": "stage", "op": "in", "value": "new"})[0] == "$.value"

    def test_a_key_that_would_change_the_json_path_is_refused(self) -> None:
        # Found by fuzzing: the quote reached DuckDB's JSON path tokenizer and answered 500.
        rule = {"field": 'user.attributes.a"); DROP TABLE users; --', "op": "eq", "value": 1}
        path, reason = error_of({"any": [rule]})
        assert path == "$.any[0].field" and "invalid key" in reason
        assert error_of({"field": "score.clv.x[0]", "op": "gt", "value": 1})[0] == "$.field"

    def test_keys_in_any_script_and_nested_keys_are_accepted(self, shop: Warehouse) -> None:
        assert (
            match(shop, {"field": "user.attributes.会员等级", "op": "eq", "value": "金"}) == set()
        )
        assert parse({"field": "user.attributes.shipping.city", "op": "eq", "value": "x"})

    def test_malformed_text_is_an_error_at_the_root(self) -> None:
        assert error_of('{"all": [')[0] == "$"

    def test_yaml_is_accepted(self) -> None:
        node = parse("all:\n  - field: feature.orders\n    op: gte\n    value: 2\n")
        assert node.kind == "all"  # type: ignore[union-attr]


class TestConditions:
    def test_computed_features(self, shop: Warehouse) -> None:
        assert match(shop, {"field": "feature.orders", "op": "gte", "value": 2}) == {
            "u1", "u3", "u4", "u6", "u7",
        }  # fmt: skip
        assert match(shop, {"field": "feature.revenue", "op": "between", "value": [60, 210]}) == {
            "u3", "u4", "u6", "u7",
        }  # fmt: skip
        # u4 bought one pot and one cup: a tie goes to the first name, cups.
        favourite = {"field": "feature.favourite_category", "op": "eq", "value": "pots"}
        assert match(shop, favourite) == {"u6"}

    def test_user_columns_and_attributes(self, shop: Warehouse) -> None:
        assert match(shop, {"field": "user.country", "op": "eq", "value": "DE"}) == {
            "u1", "u2", "u7", "p1",
        }  # fmt: skip
        assert match(shop, {"field": "user.attributes.plan", "op": "in", "value": ["gold"]}) == {
            "u1", "u4", "u7",
        }  # fmt: skip
        assert match(shop, {"field": "user.attributes.beta", "op": "eq", "value": True}) == {"u8"}
        assert match(shop, {"field": "user.attributes.beta", "op": "in", "value": [True]}) == {"u8"}

    def test_rfm_and_lifecycle_from_the_stored_scores(self, shop: Warehouse) -> None:
        assert match(shop, {"field": "rfm.segment", "op": "eq", "value": "Lost"}) == {"u4", "u5"}
        assert match(shop, {"field": "rfm.m", "op": "gte", "value": 4}) == {"u1", "u4", "u7"}
        assert match(shop, {"field": "stage", "op": "in", "value": ["new", "reactivated"]}) == {
            "u2", "u3", "u8",
        }  # fmt: skip

    def test_not_of_a_missing_value_matches(self, shop: Warehouse) -> None:
        # p1 has no lifecycle stage at all, so "not churned" includes them.
        assert match(shop, {"not": {"field": "stage", "op": "eq", "value": "churned"}}) == ALL - {
            "u5"
        }
        assert match(shop, {"field": "stage", "op": "is_null"}) == {"p1"}

    def test_all_any_not_combine(self, shop: Warehouse) -> None:
        rule = {
            "all": [
                {"field": "user.country", "op": "ne", "value": "GB"},
                {
                    "any": [
                        {"field": "feature.orders", "op": "gte", "value": 3},
                        {"field": "rfm.segment", "op": "eq", "value": "New"},
                    ]
                },
                {"not": {"field": "user.attributes.plan", "op": "eq", "value": "gold"}},
            ]
        }
        assert match(shop, rule) == {"u8"}


class TestTagsAndBehaviour:
    def test_tags_come_from_the_operational_database(self, shop: Warehouse) -> None:
        rule = {"any": [{"tag": "vip"}, {"field": "feature.revenue", "op": "gt", "value": 200}]}
        assert match(shop, rule, {"vip": ["u2", "u7", "ghost"]}) == {"u1", "u2", "u4", "u7"}

    def test_did_at_least_n_times_in_the_last_days(self, shop: Warehouse) -> None:
        viewed = {"did": "event:Product Viewed", "at_least": 3, "in_last_days": 30}
        assert match(shop, viewed) == {"u1"}
        once = {"did": "event:Product Viewed", "in_last_days": 30}
        assert match(shop, once) == {"u1", "u8"}  # u3 viewed 60 days before
        assert match(shop, {"did": "order", "at_least": 2, "in_last_days": 90}) == {"u1", "u6"}

    def test_did_a_at_most_n_times_includes_those_who_never_did(self, shop: Warehouse) -> None:
        # The last 59 days are 2024-02-02 to 2024-03-31: u7's order of 2024-02-01 is outside.
        rule = {"did": "order", "at_least": 0, "at_most": 0, "in_last_days": 59}
        assert match(shop, rule) == {"u4", "u5", "u6", "u7", "p1"}
        rule["in_last_days"] = 60
        assert match(shop, rule) == {"u4", "u5", "u6", "p1"}

    def test_did_a_but_not_b_within_hours(self, shop: Warehouse) -> None:
        # u1 ordered 3 hours after adding; u2 never did; u3's window has not passed yet.
        rule = {"did": "event:Product Added", "not_followed_by": "order", "within_hours": 24}
        assert match(shop, rule) == {"u2"}


def test_any_models_scores_and_user_dates_are_usable(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import pyarrow as pa

    shop = build_shop(tmp_path)
    at = datetime(2024, 4, 1, tzinfo=UTC)
    churn = [("u1", "0.12"), ("u4", "0.81"), ("u5", "0.93")]
    rows = pa.table(
        {
            "user_id": [u for u, _ in churn] + ["u4"],
            "model": ["churn"] * 4,
            "version": ["v2"] * 3 + ["v1"],  # only the latest version counts
            "computed_at": [at] * 4,
            "values": [json.dumps({"probability": float(p), "band": "x"}) for _, p in churn]
            + [json.dumps({"probability": 0.99})],
        }
    )
    with shop.writer() as writer:
        writer.upsert("scores", rows)
    assert match(shop, {"field": "score.churn.probability", "op": "gt", "value": 0.8}) == {
        "u4",
        "u5",
    }
    assert match(shop, {"field": "score.churn.band", "op": "eq", "value": "x"}) == {
        "u1",
        "u4",
        "u5",
    }
    signed = {"field": "user.signup_at", "op": "lt", "value": "2023-01-02"}
    assert match(shop, signed) == ALL


def test_an_empty_tag_matches_no_one(tmp_path: Path) -> None:
    shop = build_shop(tmp_path)
    assert match(shop, {"tag": "vip"}, {"vip": []}) == set()


def test_people_seen_only_through_events_can_match(tmp_path: Path) -> None:
    import pandas as pd
    import pyarrow as pa

    shop = build_shop(tmp_path)
    at = pd.Timestamp("2024-03-30 08:00", tz="UTC")
    visit = pd.DataFrame(
        {"event_id": ["v1"], "type": "page", "user_id": ["visitor"], "name": [None], "ts": [at],
         "received_at": [at]}
    )  # fmt: skip
    with shop.writer() as writer:
        writer.upsert("events", pa.Table.from_pandas(visit, preserve_index=False))
    assert "visitor" in match(shop, {"field": "stage", "op": "is_null"})
    assert match(shop, {"did": "any_event", "in_last_days": 3}) == {"u1", "u3", "u8", "visitor"}
