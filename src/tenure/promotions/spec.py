"""Offer definitions as stored JSON ↔ Condition, Benefit and ItemRange values."""

from __future__ import annotations

from typing import Any

from tenure.promotions import benefits as b
from tenure.promotions import conditions as c
from tenure.promotions.applicator import Offer
from tenure.promotions.cart import ItemRange
from tenure.promotions.errors import InvalidOffer
from tenure.promotions.models import PromoOffer


def condition(data: dict[str, Any]) -> c.Condition:
    """One condition from its JSON."""
    kind = data.get("type")
    if kind == "min_spend":
        return c.MinSpend(int(data["amount_minor"]))
    if kind == "min_quantity":
        return c.MinQuantity(int(data["quantity"]))
    if kind == "first_order":
        return c.FirstOrder()
    if kind == "new_user":
        return c.NewUser()
    if kind == "tier":
        return c.TierIn(frozenset(data["tiers"]))
    if kind == "segment":
        return c.SegmentIn(frozenset(data["segments"]))
    raise InvalidOffer(reason=f"unknown condition type {kind!r}")


def benefit(data: dict[str, Any]) -> b.Benefit:
    """The benefit from its JSON."""
    kind = data.get("type")
    if kind == "amount_off":
        return b.AmountOff(int(data["amount_minor"]))
    if kind == "percent_off":
        return b.PercentOff(int(data["bps"]), data.get("cap_minor"))
    if kind == "ladder":
        steps = [
            b.Step(int(s["threshold_minor"]), int(s["amount_off_minor"])) for s in data["steps"]
        ]
        return b.Ladder(tuple(sorted(steps, key=lambda s: s.threshold_minor)))
    if kind == "free_shipping":
        return b.FreeShipping(data.get("cap_minor"))
    if kind == "gift":
        return b.GiftItem(str(data["sku"]), int(data.get("quantity", 1)), int(data["value_minor"]))
    if kind == "sale_price":
        return b.SalePrice(int(data["price_minor"]), data.get("max_units_per_order"))
    if kind == "points":
        return b.Points(int(data["points"]))
    raise InvalidOffer(reason=f"unknown benefit type {kind!r}")


def item_range(data: dict[str, Any] | None) -> ItemRange:
    """The range from its JSON (empty = every item)."""
    data = data or {}
    return ItemRange(
        frozenset(data.get("categories") or ()),
        frozenset(data.get("skus") or ()),
        frozenset(data.get("exclude_categories") or ()),
        frozenset(data.get("exclude_skus") or ()),
    )


def offer(row: PromoOffer, code: str | None = None) -> Offer:
    """A priceable offer from its row, with the stock and budget still free."""
    units_left = None if row.stock is None else max(0, row.stock - row.stock_used)
    budget_left = None if row.budget_minor is None else max(0, row.budget_minor - row.spent_minor)
    return Offer(
        id=row.id,
        name=row.name,
        kind=row.kind,
        priority=row.priority,
        exclusive=row.exclusive,
        group=row.stack_group,
        conditions=tuple(condition(d) for d in row.conditions),
        benefit=benefit(row.benefit),
        item_range=item_range(row.item_range),
        units_left=units_left,
        budget_left=budget_left,
        code=code,
    )
