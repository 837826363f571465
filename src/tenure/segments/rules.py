"""The segment rule language: JSON or YAML trees of all / any / not over conditions.

    {"all": [
      {"field": "feature.orders", "op": "gte", "value": 3},
      {"any": [{"field": "rfm.segment", "op": "in", "value": ["Champions", "Loyal"]},
               {"tag": "vip"}]},
      {"not": {"field": "lifecycle.stage", "op": "eq", "value": "churned"}},
      {"did": "event:Product Viewed", "at_least": 3, "in_last_days": 30},
      {"did": "event:Product Added", "not_followed_by": "order", "within_hours": 24}
    ]}

Fields: `user.<column>` and `user.attributes.<key>`, `feature.<name>` (computed features),
`rfm.<r|f|m|score|segment|recency_days|frequency|monetary>`, `lifecycle.<stage|since|…>`
(`stage` for short) and `score.<model>.<key>` (the latest scores of any model). Activities are
`order`, `any_event`, `any` or `event:NAME`. Parsing checks the whole tree first and every error
names the path of the part that is wrong, such as `$.all[1].any[0].op`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from tenure.analytics.activity import Activity, BadActivity
from tenure.analytics.features import FEATURES, USER_COLUMNS
from tenure.kit.documents import json_or_yaml
from tenure.segments.errors import RuleError

OPS = {
    "eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between",
    "contains", "starts_with", "is_null", "is_not_null",
}  # fmt: skip
_NO_VALUE = {"is_null", "is_not_null"}
_ORDERED = {"gt", "gte", "lt", "lte", "between"}
RFM_FIELDS = {
    "r": "number", "f": "number", "m": "number", "score": "string", "segment": "string",
    "recency_days": "number", "frequency": "number", "monetary": "number",
}  # fmt: skip
LIFECYCLE_FIELDS = {
    "stage": "string", "since": "date", "days_since_last": "number", "orders": "number",
    "at_risk_days": "number", "churn_days": "number",
}  # fmt: skip


@dataclass(frozen=True)
class Field:
    """A resolved field: where it comes from, its name there and its kind of value."""

    source: str  # user | attribute | feature | score
    name: str
    kind: str  # number | string | date | any
    model: str = ""


@dataclass(frozen=True)
class Cond:
    """`field op value`."""

    path: str
    field: Field
    op: str
    value: Any


@dataclass(frozen=True)
class TagIs:
    """The user carries a tag."""

    path: str
    key: str


@dataclass(frozen=True)
class Did:
    """Did an activity between `at_least` and `at_most` times in the last `days` days."""

    path: str
    activity: Activity
    at_least: int
    at_most: int | None
    days: int | None


@dataclass(frozen=True)
class DidNotFollow:
    """Did `first` (in the last `days` days) and no `then` within `hours` after it."""

    path: str
    first: Activity
    then: Activity
    hours: int
    days: int | None


@dataclass(frozen=True)
class Group:
    """all / any of children."""

    path: str
    kind: str
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """Negation."""

    path: str
    child: Node


Node = Cond | TagIs | Did | DidNotFollow | Group | Not


def load(text: str) -> Any:
    """A rule from JSON or YAML text."""
    try:
        return json_or_yaml(text)
    except ValueError as exc:
        raise RuleError(path="$", reason=f"neither JSON nor YAML: {exc}") from None


def parse(rule: Any, path: str = "$") -> Node:
    """Check a rule tree and turn it into nodes; raises RuleError naming the wrong part."""
    if isinstance(rule, str):
        rule = load(rule)
    if not isinstance(rule, dict) or not rule:
        raise RuleError(path=path, reason='expected an object such as {"all": [...]}')
    for kind in ("all", "any"):
        if kind in rule:
            _only(rule, {kind}, path)
            items = rule[kind]
            if not isinstance(items, list) or not items:
                raise RuleError(path=f"{path}.{kind}", reason="expected a non-empty list")
            children = tuple(parse(item, f"{path}.{kind}[{i}]") for i, item in enumerate(items))
            return Group(path, kind, children)
    if "not" in rule:
        _only(rule, {"not"}, path)
        return Not(path, parse(rule["not"], f"{path}.not"))
    if "tag" in rule:
        _only(rule, {"tag"}, path)
        if not isinstance(rule["tag"], str) or not rule["tag"]:
            raise RuleError(path=f"{path}.tag", reason="expected a tag key")
        return TagIs(path, rule["tag"])
    if "did" in rule:
        return _did(rule, path)
    if "field" in rule:
        return _cond(rule, path)
    keys = ", ".join(sorted(rule))
    raise RuleError(
        path=path, reason=f"unknown node ({keys}); use all, any, not, field, tag or did"
    )


def _only(rule: dict[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(set(rule) - allowed)
    if extra:
        raise RuleError(path=f"{path}.{extra[0]}", reason="unexpected key here")


def _int(rule: dict[str, Any], key: str, path: str, low: int, default: int | None) -> int | None:
    value = rule.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise RuleError(path=f"{path}.{key}", reason=f"expected a whole number ≥ {low}")
    return value


def _activity(value: Any, path: str) -> Activity:
    if not isinstance(value, str):
        raise RuleError(path=path, reason="expected order, any_event, any or event:NAME")
    try:
        return Activity.parse(value)
    except BadActivity:
        raise RuleError(path=path, reason="expected order, any_event, any or event:NAME") from None


def _did(rule: dict[str, Any], path: str) -> Node:
    first = _activity(rule["did"], f"{path}.did")
    days = _int(rule, "in_last_days", path, 1, None)
    if "not_followed_by" in rule:
        _only(rule, {"did", "not_followed_by", "within_hours", "in_last_days"}, path)
        then = _activity(rule["not_followed_by"], f"{path}.not_followed_by")
        hours = _int(rule, "within_hours", path, 1, None)
        if hours is None:
            raise RuleError(path=f"{path}.within_hours", reason="required with not_followed_by")
        return DidNotFollow(path, first, then, hours, days)
    _only(rule, {"did", "at_least", "at_most", "in_last_days"}, path)
    at_least = _int(rule, "at_least", path, 0, 1) or 0
    at_most = _int(rule, "at_most", path, 0, None)
    if at_most is not None and at_most < at_least:
        raise RuleError(path=f"{path}.at_most", reason="is below at_least")
    return Did(path, first, at_least, at_most, days)


# Keys become JSON paths ($.key, $.a.b) on DuckDB and Spark: letters of any script, digits, _ and
# -, dot-separated for nested objects; quotes, brackets, $ and * would change the path's meaning.
_JSON_KEY = re.compile(r"[\w-]+(\.[\w-]+)*")


def _json_key(key: str, path: str) -> str:
    """An attribute or score key that is safe to put in a JSON path."""
    if len(key) > 200 or not _JSON_KEY.fullmatch(key):
        raise RuleError(
            path=path,
            reason=f"invalid key {key[:60]!r}: use letters, digits, _ and -, dots to nest",
        )
    return key


def resolve(name: Any, path: str) -> Field:
    """The field a dotted name refers to."""
    if not isinstance(name, str) or not name:
        raise RuleError(path=path, reason="expected a field name such as feature.orders")
    if name == "stage":
        name = "lifecycle.stage"
    head, _, rest = name.partition(".")
    if head == "user":
        if rest.startswith("attributes.") and len(rest) > len("attributes."):
            return Field("attribute", _json_key(rest[len("attributes.") :], path), "any")
        if rest in USER_COLUMNS:
            return Field("user", rest, USER_COLUMNS[rest])
        known = ", ".join(f"user.{c}" for c in USER_COLUMNS)
        raise RuleError(
            path=path, reason=f"unknown field {name}; use {known} or user.attributes.KEY"
        )
    if head == "feature":
        if rest in FEATURES:
            return Field("feature", rest, FEATURES[rest])
        known = ", ".join(f"feature.{c}" for c in FEATURES)
        raise RuleError(path=path, reason=f"unknown field {name}; known: {known}")
    for model, fields in (("rfm", RFM_FIELDS), ("lifecycle", LIFECYCLE_FIELDS)):
        if head == model:
            if rest in fields:
                return Field("score", rest, fields[rest], model)
            known = ", ".join(f"{model}.{c}" for c in fields)
            raise RuleError(path=path, reason=f"unknown field {name}; known: {known}")
    if head == "score":
        model, _, key = rest.partition(".")
        if model and key:
            return Field("score", _json_key(key, path), "any", model)
        raise RuleError(path=path, reason=f"{name}: use score.MODEL.KEY")
    raise RuleError(
        path=path,
        reason=f"unknown field {name}; start with user., feature., rfm., lifecycle. or score.",
    )


def _cond(rule: dict[str, Any], path: str) -> Cond:
    field = resolve(rule["field"], f"{path}.field")
    op = rule.get("op", "eq")
    if op not in OPS:
        raise RuleError(
            path=f"{path}.op", reason=f"unknown operator {op}; use {', '.join(sorted(OPS))}"
        )
    if op in _NO_VALUE:
        _only(rule, {"field", "op"}, path)
        return Cond(path, field, op, None)
    _only(rule, {"field", "op", "value"}, path)
    if "value" not in rule:
        raise RuleError(path=f"{path}.value", reason=f"{op} needs a value")
    value = _value(rule["value"], field, op, f"{path}.value")
    return Cond(path, field, op, value)


def _scalar(value: Any, field: Field, op: str, path: str) -> Any:
    if isinstance(value, (list, dict)) or value is None:
        raise RuleError(path=path, reason="expected a single value")
    numeric = field.kind == "number" or (field.kind == "any" and op in _ORDERED)
    if numeric and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise RuleError(path=path, reason=f"{field.name} holds numbers; got {value!r}")
    if field.kind == "date":
        try:
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            raise RuleError(
                path=path, reason=f"expected a date YYYY-MM-DD; got {value!r}"
            ) from None
    if field.kind == "string" and op in ("contains", "starts_with") and not isinstance(value, str):
        raise RuleError(path=path, reason="expected text")
    return value


def _value(value: Any, field: Field, op: str, path: str) -> Any:
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise RuleError(path=path, reason=f"{op} needs a non-empty list")
        return tuple(_scalar(v, field, "eq", f"{path}[{i}]") for i, v in enumerate(value))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise RuleError(path=path, reason="between needs [low, high]")
        low, high = (_scalar(v, field, op, f"{path}[{i}]") for i, v in enumerate(value))
        if low > high:
            raise RuleError(path=path, reason="low is above high")
        return (low, high)
    return _scalar(value, field, op, path)


def walk(node: Node) -> list[Node]:
    """The node and all its descendants, depth first."""
    if isinstance(node, Group):
        return [node, *(n for child in node.children for n in walk(child))]
    if isinstance(node, Not):
        return [node, *walk(node.child)]
    return [node]


def tags_used(node: Node) -> set[str]:
    """The tag keys a rule mentions."""
    return {n.key for n in walk(node) if isinstance(n, TagIs)}
