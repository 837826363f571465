"""Conditions: each says whether it is met and, for spend, how much is missing."""

from __future__ import annotations

from tenure.promotions.cart import ItemRange, Priced
from tenure.promotions.conditions import (
    FirstOrder,
    MinQuantity,
    MinSpend,
    NewUser,
    SegmentIn,
    TierIn,
)
from tenure.promotions.facts import CustomerFacts

from .builders import GUEST, MEMBER, NEWCOMER, cart

EVERYTHING = ItemRange()
SHOES = ItemRange(categories=frozenset({"shoes"}))
BASKET = Priced.start(cart(("A", 2, 3000, "shoes"), ("B", 1, 4000, "hats")))


class TestMinSpend:
    def test_spend_on_the_range_is_compared_with_the_minimum(self) -> None:
        assert MinSpend(10000).is_satisfied(BASKET, EVERYTHING, MEMBER).ok
        assert not MinSpend(10001).is_satisfied(BASKET, EVERYTHING, MEMBER).ok

    def test_the_shortfall_is_what_is_missing_on_the_range_only(self) -> None:
        check = MinSpend(8000).is_satisfied(BASKET, SHOES, MEMBER)
        assert (check.ok, check.code, check.missing_minor) == (
            False,
            "coupon_min_spend_not_met",
            2000,
        )
        assert check.data == {"min_spend_minor": 8000, "spend_minor": 6000, "missing_minor": 2000}
        assert check.spend_only

    def test_earlier_discounts_count_against_the_minimum(self) -> None:
        after = BASKET.after((1000, 0), 0)
        assert MinSpend(10000).is_satisfied(after, EVERYTHING, MEMBER).missing_minor == 1000


class TestCustomerConditions:
    def test_first_order_needs_no_previous_order(self) -> None:
        assert FirstOrder().is_satisfied(BASKET, EVERYTHING, NEWCOMER).ok
        check = FirstOrder().is_satisfied(BASKET, EVERYTHING, MEMBER)
        assert (check.code, check.data) == ("offer_first_order_only", {"previous_orders": 3})
        assert not check.spend_only

    def test_new_user_follows_the_new_customer_fact(self) -> None:
        assert NewUser().is_satisfied(BASKET, EVERYTHING, NEWCOMER).ok
        assert NewUser().is_satisfied(BASKET, EVERYTHING, MEMBER).code == "offer_new_user_only"

    def test_tier_must_be_one_of_the_listed(self) -> None:
        assert TierIn(frozenset({"gold", "platinum"})).is_satisfied(BASKET, EVERYTHING, MEMBER).ok
        check = TierIn(frozenset({"platinum"})).is_satisfied(BASKET, EVERYTHING, MEMBER)
        assert (check.code, check.data) == (
            "offer_tier_required",
            {"tiers": "platinum", "tier": "gold"},
        )

    def test_any_shared_segment_is_enough(self) -> None:
        vip = CustomerFacts("u3", segments=frozenset({"vip", "at_risk"}))
        assert SegmentIn(frozenset({"at_risk"})).is_satisfied(BASKET, EVERYTHING, vip).ok
        assert not SegmentIn(frozenset({"lapsed"})).is_satisfied(BASKET, EVERYTHING, vip).ok

    def test_guests_are_asked_to_sign_in_for_customer_conditions(self) -> None:
        for condition in (
            FirstOrder(),
            NewUser(),
            TierIn(frozenset({"gold"})),
            SegmentIn(frozenset({"x"})),
        ):
            assert condition.is_satisfied(BASKET, EVERYTHING, GUEST).code == "offer_login_required"


class TestMinQuantity:
    def test_units_in_the_range_are_counted(self) -> None:
        assert MinQuantity(2).is_satisfied(BASKET, SHOES, MEMBER).ok
        check = MinQuantity(3).is_satisfied(BASKET, SHOES, MEMBER)
        assert (check.code, check.data) == (
            "offer_min_quantity_not_met",
            {"min_quantity": 3, "quantity": 2},
        )
