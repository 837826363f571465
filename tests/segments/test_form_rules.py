"""Rules built from the console's form rows, and the pickers' field and operator lists."""

from __future__ import annotations

import pytest

from tenure.segments import service
from tenure.segments.errors import RuleError


def test_rows_become_a_rule_with_typed_values() -> None:
    rule = service.rule_from_rows(
        "any",
        [
            ("feature.orders", "gte", " 2 "),
            ("", "eq", "ignored"),  # a blank row
            ("rfm.segment", "in", "Champions, Can't Lose"),
            ("user.attributes.age", "between", "18,30.5"),
            ("user.country", "is_null", "left over"),
            ("user.attributes.plan", "eq", "gold"),
            ("tag", "eq", "vip"),
        ],
    )
    assert rule == {
        "any": [
            {"field": "feature.orders", "op": "gte", "value": 2},
            {"field": "rfm.segment", "op": "in", "value": ["Champions", "Can't Lose"]},
            {"field": "user.attributes.age", "op": "between", "value": [18, 30.5]},
            {"field": "user.country", "op": "is_null"},
            {"field": "user.attributes.plan", "op": "eq", "value": "gold"},
            {"tag": "vip"},
        ]
    }
    service.parse_rule(rule)  # a valid rule


def test_text_stays_text_so_the_parser_names_the_wrong_row() -> None:
    rule = service.rule_from_rows(
        "all", [("user.country", "eq", "DE"), ("feature.orders", "gt", "many")]
    )
    assert rule["all"][1]["value"] == "many"
    with pytest.raises(RuleError) as caught:
        service.parse_rule(rule)
    assert caught.value.data["path"] == "$.all[1].value"
    unknown = service.rule_from_rows("all", [("feature.nope", "eq", "1")])
    with pytest.raises(RuleError) as caught:
        service.parse_rule(unknown)
    assert caught.value.data["path"] == "$.all[0].field"


def test_no_condition_or_a_bad_combination_is_a_rule_error() -> None:
    with pytest.raises(RuleError) as caught:
        service.rule_from_rows("all", [("", "", ""), ("  ", "eq", "1")])
    assert caught.value.data["path"] == "$.all"
    with pytest.raises(RuleError):
        service.rule_from_rows("either", [("feature.orders", "gte", "1")])


def test_the_pickers_list_fields_and_operators_the_parser_accepts() -> None:
    from tenure.segments.rules import OPS, resolve

    for name in service.rule_fields():
        resolve(name, "$")
    assert set(service.rule_operators()) == OPS
    assert service.rule_operators()[0] == "eq"
