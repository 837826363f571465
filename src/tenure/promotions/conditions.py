"""Conditions: is an offer's requirement met, and if not, what is missing (the upsell)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from tenure.promotions.cart import ItemRange, Priced
from tenure.promotions.facts import CustomerFacts


@dataclass(frozen=True)
class Check:
    """A condition's verdict: the reason code and its data when not met; `missing_minor` > 0 when
    spending that much more on the range would meet it (the upsell)."""

    ok: bool
    code: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    missing_minor: int = 0

    @property
    def spend_only(self) -> bool:
        """Not met only because the customer has not spent enough yet."""
        return not self.ok and self.missing_minor > 0


PASSED = Check(True)


class Condition(Protocol):
    """Something a cart and customer must satisfy for an offer to apply."""

    def is_satisfied(self, state: Priced, item_range: ItemRange, facts: CustomerFacts) -> Check:
        """The verdict on this cart, priced so far, for this customer."""
        ...


@dataclass(frozen=True)
class MinSpend:
    """Spend at least `amount_minor` on the offer's items (net of earlier discounts)."""

    amount_minor: int

    def is_satisfied(self, state: Priced, item_range: ItemRange, facts: CustomerFacts) -> Check:
        """Met when the range's net spend reaches the minimum."""
        spend = state.spend(item_range)
        if spend >= self.amount_minor:
            return PASSED
        missing = self.amount_minor - spend
        data = {
            "min_spend_minor": self.amount_minor,
            "spend_minor": spend,
            "missing_minor": missing,
        }
        return Check(False, "coupon_min_spend_not_met", data, missing)


@dataclass(frozen=True)
class MinQuantity:
    """Buy at least `quantity` units of the offer's items."""

    quantity: int

    def is_satisfied(self, state: Priced, item_range: ItemRange, facts: CustomerFacts) -> Check:
        """Met when the range holds enough units."""
        units = state.units(item_range)
        if units >= self.quantity:
            return PASSED
        data = {"min_quantity": self.quantity, "quantity": units}
        return Check(False, "offer_min_quantity_not_met", data)


def _guest() -> Check:
    return Check(False, "offer_login_required")


@dataclass(frozen=True)
class FirstOrder:
    """Only on the customer's first order."""

    def is_satisfied(self, state: Priced, item_range: ItemRange, facts: CustomerFacts) -> Check:
        """Met when the customer has no earlier order."""
        if facts.is_guest:
            return _guest()
        if facts.previous_orders == 0:
            return PASSED
        return Check(False, "offer_first_order_only", {"previous_orders": facts.previous_orders})


@dataclass(frozen=True)
class NewUser:
    """Only for new customers."""

    def is_satisfied(self, state: Priced, item_range: ItemRange, facts: CustomerFacts) -> Check:
        """Met when the customer counts as new."""
        if facts.is_guest:
            return _guest()
        return PASSED if facts.is_new_customer else Check(False, "offer_new_user_only")


@dataclass(frozen=True)
class TierIn:
    """Only for members of one of these loyalty tiers."""

    tiers: frozenset[str]

    def is_satisfied(self, state: Priced, item_range: ItemRange, facts: CustomerFacts) -> Check:
        """Met when the customer's tier is one of the tiers."""
        if facts.is_guest:
            return _guest()
        if facts.tier in self.tiers:
            return PASSED
        data = {"tiers": ", ".join(sorted(self.tiers)), "tier": facts.tier or "-"}
        return Check(False, "offer_tier_required", data)


@dataclass(frozen=True)
class SegmentIn:
    """Only for customers in at least one of these segments."""

    segments: frozenset[str]

    def is_satisfied(self, state: Priced, item_range: ItemRange, facts: CustomerFacts) -> Check:
        """Met when the customer is in any of the segments."""
        if facts.is_guest:
            return _guest()
        if facts.segments & self.segments:
            return PASSED
        return Check(
            False, "offer_segment_required", {"segments": ", ".join(sorted(self.segments))}
        )


@dataclass(frozen=True)
class HasEligibleItems:
    """The cart holds at least one item of the offer's range (implicit for every offer)."""

    def is_satisfied(self, state: Priced, item_range: ItemRange, facts: CustomerFacts) -> Check:
        """Met when some line is in the range."""
        return PASSED if state.eligible(item_range) else Check(False, "offer_no_eligible_items")


def check_all(
    conditions: tuple[Condition, ...], state: Priced, item_range: ItemRange, facts: CustomerFacts
) -> list[Check]:
    """Every unmet condition, in order (empty when all are met)."""
    return [
        c for c in (cond.is_satisfied(state, item_range, facts) for cond in conditions) if not c.ok
    ]
