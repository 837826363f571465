"""Benefits: amounts, caps, ladders, stock-limited prices, and exact splitting over lines."""

from __future__ import annotations

from tenure.promotions.benefits import (
    AmountOff,
    FreeShipping,
    GiftItem,
    Ladder,
    PercentOff,
    Points,
    SalePrice,
    Step,
)
from tenure.promotions.cart import ItemRange, Priced

from .builders import cart

EVERYTHING = ItemRange()
SHOES = ItemRange(categories=frozenset({"shoes"}))
BASKET = Priced.start(cart(("A", 2, 3000, "shoes"), ("B", 1, 4000, "hats"), shipping=800))


class TestAmountOff:
    def test_the_amount_is_split_over_lines_by_their_value(self) -> None:
        effect = AmountOff(1500).apply(BASKET, EVERYTHING, None)
        assert effect.line_discounts == (900, 600)

    def test_never_more_than_the_range_costs(self) -> None:
        effect = AmountOff(20000).apply(BASKET, SHOES, None)
        assert effect.line_discounts == (6000, 0)

    def test_a_split_that_does_not_divide_gives_the_remainder_to_the_largest_remainders(
        self,
    ) -> None:
        three = Priced.start(cart(("A", 1, 3333), ("B", 1, 3333), ("C", 1, 3334)))
        # 100 × 3333/10000 = 33.33, 33.33, 33.34 → floors 33, 33, 33; the 1 left goes to C (.34).
        assert AmountOff(100).apply(three, EVERYTHING, None).line_discounts == (33, 33, 34)


class TestPercentOff:
    def test_basis_points_of_the_range(self) -> None:
        assert PercentOff(1250).apply(BASKET, EVERYTHING, None).discount_minor == 1250

    def test_the_cap_limits_the_discount(self) -> None:
        effect = PercentOff(1000, cap_minor=500).apply(BASKET, EVERYTHING, None)
        assert (effect.discount_minor, effect.line_discounts) == (500, (300, 200))

    def test_half_cents_round_half_even(self) -> None:
        odd = Priced.start(cart(("A", 1, 125), ("B", 1, 135)))
        # 10 % of 260 = 26 exactly; of 125 alone = 12.5 → 12 (half-even).
        assert PercentOff(1000).apply(odd, EVERYTHING, None).discount_minor == 26
        assert (
            PercentOff(1000).apply(odd, ItemRange(skus=frozenset({"A"})), None).discount_minor == 12
        )


class TestLadder:
    LADDER = Ladder((Step(5000, 500), Step(10000, 1500), Step(20000, 4000)))

    def test_the_highest_rung_reached_applies(self) -> None:
        assert self.LADDER.apply(BASKET, EVERYTHING, None).discount_minor == 1500
        assert self.LADDER.apply(BASKET, SHOES, None).discount_minor == 500

    def test_the_next_rung_says_how_much_more_to_spend(self) -> None:
        step = self.LADDER.next_step(BASKET, EVERYTHING)
        assert step is not None
        assert (step.missing_minor, step.phrase) == (10000, "40.00 USD off")
        assert self.LADDER.threshold_minor() == 5000


class TestSalePrice:
    FLASH = Priced.start(cart(("F", 3, 1990), ("G", 1, 5000)))
    F_ONLY = ItemRange(skus=frozenset({"F"}))

    def test_each_unit_drops_to_the_sale_price(self) -> None:
        effect = SalePrice(990).apply(self.FLASH, self.F_ONLY, None)
        assert (effect.line_discounts, effect.units) == ((3000, 0), 3)

    def test_stock_and_the_per_order_limit_cap_the_units(self) -> None:
        assert SalePrice(990, max_units_per_order=2).apply(self.FLASH, self.F_ONLY, 5).units == 2
        one = SalePrice(990).apply(self.FLASH, self.F_ONLY, 1)
        assert (one.discount_minor, one.units) == (1000, 1)
        assert SalePrice(990).apply(self.FLASH, self.F_ONLY, 0).is_empty


class TestOtherBenefits:
    def test_free_shipping_takes_off_the_shipping_up_to_a_cap(self) -> None:
        assert FreeShipping().apply(BASKET, EVERYTHING, None).shipping_off == 800
        assert FreeShipping(cap_minor=500).apply(BASKET, EVERYTHING, None).shipping_off == 500

    def test_a_gift_is_worth_its_retail_value_while_stock_lasts(self) -> None:
        effect = GiftItem("MUG", 2, 1200).apply(BASKET, EVERYTHING, 10)
        assert (effect.value_minor, effect.units, effect.discount_minor) == (2400, 2, 0)
        assert GiftItem("MUG", 2, 1200).apply(BASKET, EVERYTHING, 1).is_empty

    def test_points_are_a_post_order_action_without_discount(self) -> None:
        effect = Points(300).apply(BASKET, EVERYTHING, None)
        assert (effect.points, effect.value_minor, effect.is_empty) == (300, 0, False)
