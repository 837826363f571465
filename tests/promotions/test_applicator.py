"""The applicator: the best combination under stacking rules, reasons, upsell hints."""

from __future__ import annotations

import itertools
import random

from tenure.promotions.applicator import Offer, best_combination, evaluate
from tenure.promotions.cart import Priced

from .builders import MEMBER, NEWCOMER, cart, offer

HUNDRED = cart(("A", 2, 3000, "shoes"), ("B", 1, 4000, "hats"), shipping=800)
LADDER = {"type": "ladder", "steps": [{"threshold_minor": 8000, "amount_off_minor": 1000}]}


def ids(pricing: object) -> list[str]:
    return [a.offer.id for a in pricing.applied]  # type: ignore[attr-defined]


class TestBestCombination:
    def test_an_exclusive_offer_wins_when_it_beats_every_stack(self) -> None:
        offers = [
            offer(LADDER, id="ladder", priority=200),
            offer({"type": "amount_off", "amount_minor": 1500}, id="coupon", code="C1"),
            offer({"type": "percent_off", "bps": 3000}, id="vip30", priority=150, exclusive=True),
        ]
        pricing = best_combination(HUNDRED, offers, MEMBER)
        assert ids(pricing) == ["vip30"]
        assert pricing.discount_minor == 3000
        reasons = {
            r.offer.id: (r.check.code, r.check.data["conflicts_with"]) for r in pricing.rejected
        }
        assert reasons == {
            "ladder": ("offer_not_combinable", ["vip30"]),
            "coupon": ("offer_not_combinable", ["vip30"]),
        }

    def test_a_stack_wins_when_it_saves_more_than_the_exclusive_offer(self) -> None:
        offers = [
            offer(LADDER, id="ladder", priority=200),
            offer({"type": "amount_off", "amount_minor": 1500}, id="coupon", code="C1"),
            offer({"type": "percent_off", "bps": 2000}, id="vip20", priority=150, exclusive=True),
        ]
        pricing = best_combination(HUNDRED, offers, MEMBER)
        assert ids(pricing) == ["ladder", "coupon"]
        assert (pricing.discount_minor, pricing.total_minor) == (2500, 10000 - 2500 + 800)
        assert [r.check.code for r in pricing.rejected] == ["offer_not_combinable"]

    def test_one_offer_per_group(self) -> None:
        offers = [
            offer({"type": "amount_off", "amount_minor": 1000}, id="c10", group="coupon", code="X"),
            offer({"type": "amount_off", "amount_minor": 1200}, id="c12", group="coupon", code="Y"),
            offer({"type": "free_shipping"}, id="ship", priority=50),
        ]
        pricing = best_combination(HUNDRED, offers, MEMBER)
        assert ids(pricing) == ["c12", "ship"]
        assert pricing.shipping_off_minor == 800
        assert pricing.rejected[0].offer.id == "c10"

    def test_conditions_see_earlier_discounts_so_order_matters(self) -> None:
        offers = [
            offer({"type": "amount_off", "amount_minor": 2000}, id="auto", priority=200),
            offer(
                {"type": "amount_off", "amount_minor": 1000},
                {"type": "min_spend", "amount_minor": 9000},
                id="coupon",
                code="C",
            ),
        ]
        pricing = best_combination(HUNDRED, offers, MEMBER)
        assert ids(pricing) == ["auto"]
        rejected = pricing.rejected[0]
        assert (rejected.check.code, rejected.check.missing_minor) == (
            "coupon_min_spend_not_met",
            1000,
        )
        assert [(u.offer.id, u.missing_minor, u.phrase) for u in pricing.upsells] == [
            ("coupon", 1000, "10.00 USD off")
        ]

    def test_equal_savings_prefer_fewer_offers(self) -> None:
        offers = [
            offer({"type": "amount_off", "amount_minor": 500}, id="a", priority=200),
            offer({"type": "amount_off", "amount_minor": 500}, id="b", priority=150),
            offer({"type": "amount_off", "amount_minor": 1000}, id="c", exclusive=True),
        ]
        assert ids(best_combination(HUNDRED, offers, MEMBER)) == ["c"]

    def test_every_applicable_offer_is_listed_with_its_solo_value(self) -> None:
        offers = [
            offer({"type": "amount_off", "amount_minor": 2000}, id="auto", priority=200),
            offer({"type": "percent_off", "bps": 1000}, id="p10", code="P"),
            offer({"type": "free_shipping"}, {"type": "first_order"}, id="first", priority=50),
        ]
        pricing = best_combination(HUNDRED, offers, MEMBER)
        assert [(a.offer.id, a.effect.value_minor) for a in pricing.applicable] == [
            ("auto", 2000),
            ("p10", 1000),
        ]
        # Applied in priority order: 10 % is taken from what is left after 20.00 off.
        assert [a.effect.discount_minor for a in pricing.applied] == [2000, 800]
        assert pricing.rejected[0].check.code == "offer_first_order_only"
        assert ids(best_combination(HUNDRED, offers, NEWCOMER)) == ["auto", "p10", "first"]


class TestReasonsAndHints:
    def test_an_unmet_minimum_gives_an_upsell_with_the_missing_amount(self) -> None:
        ladder = {
            "type": "ladder",
            "steps": [
                {"threshold_minor": 12000, "amount_off_minor": 2000},
                {"threshold_minor": 15000, "amount_off_minor": 3000},
            ],
        }
        pricing = best_combination(HUNDRED, [offer(ladder, id="manjian")], MEMBER)
        assert pricing.applied == ()
        assert pricing.rejected[0].check.data["missing_minor"] == 2000
        assert [(u.missing_minor, u.phrase) for u in pricing.upsells] == [(2000, "20.00 USD off")]

    def test_a_reached_rung_hints_at_the_next_one(self) -> None:
        ladder = {
            "type": "ladder",
            "steps": [
                {"threshold_minor": 8000, "amount_off_minor": 1000},
                {"threshold_minor": 12000, "amount_off_minor": 3000},
            ],
        }
        pricing = best_combination(HUNDRED, [offer(ladder, id="manjian")], MEMBER)
        assert pricing.discount_minor == 1000
        assert [(u.missing_minor, u.phrase) for u in pricing.upsells] == [(2000, "30.00 USD off")]

    def test_no_eligible_items_and_no_effect_are_reasons(self) -> None:
        offers = [
            offer(
                {"type": "amount_off", "amount_minor": 100},
                id="bags",
                items={"categories": ["bags"]},
            ),
            offer({"type": "sale_price", "price_minor": 5000}, id="dearer", items={"skus": ["A"]}),
        ]
        codes = [r.check.code for r in best_combination(HUNDRED, offers, MEMBER).rejected]
        assert codes == ["offer_no_eligible_items", "offer_no_effect"]

    def test_a_discount_beyond_the_budget_left_is_refused(self) -> None:
        capped = offer({"type": "amount_off", "amount_minor": 1500}, id="b", budget_left=1000)
        pricing = best_combination(HUNDRED, [capped], MEMBER)
        assert pricing.rejected[0].check.code == "promotion_budget_exhausted"
        assert pricing.rejected[0].check.data == {"budget_left_minor": 1000, "value_minor": 1500}


def _brute_force(carted: object, offers: list[Offer]) -> int:
    """Best value over every subset, applied in priority order: the search must equal it."""
    ordered = sorted(offers, key=lambda o: (-o.priority, o.id))
    best = 0
    for size in range(len(ordered) + 1):
        for subset in itertools.combinations(ordered, size):
            if size > 1 and any(o.exclusive for o in subset):
                continue
            groups = [o.group for o in subset if o.group]
            if len(groups) != len(set(groups)):
                continue
            state, value = Priced.start(carted), 0  # type: ignore[arg-type]
            for o in subset:
                effect = evaluate(o, state, MEMBER).effect
                if effect is None:
                    break
                state = state.after(effect.line_discounts, effect.shipping_off)
                value += effect.value_minor
            else:
                best = max(best, value)
    return best


def test_the_search_is_exact_against_brute_force_on_random_carts() -> None:
    rng = random.Random(7)
    kinds = [
        lambda: {"type": "amount_off", "amount_minor": rng.randrange(100, 4000, 100)},
        lambda: {
            "type": "percent_off",
            "bps": rng.randrange(500, 4000, 500),
            "cap_minor": rng.choice([None, 1500]),
        },
        lambda: {"type": "free_shipping"},
        lambda: LADDER,
    ]
    for _ in range(150):
        lines = [
            (f"S{i}", rng.randint(1, 3), rng.randrange(500, 6000, 100), rng.choice("xy"))
            for i in range(rng.randint(1, 5))
        ]
        carted = cart(*lines, shipping=rng.choice([0, 600]))
        offers = []
        for i in range(rng.randint(1, 7)):
            conditions = (
                [{"type": "min_spend", "amount_minor": rng.randrange(0, 15000, 1000)}]
                if rng.random() < 0.5
                else []
            )
            offers.append(
                offer(
                    rng.choice(kinds)(),
                    *conditions,
                    id=f"o{i}",
                    priority=rng.choice([50, 100, 200]),
                    exclusive=rng.random() < 0.2,
                    group=rng.choice([None, None, "g"]),
                    items=rng.choice([None, {"categories": ["x"]}]),
                )
            )
        pricing = best_combination(carted, offers, MEMBER)
        value = sum(a.effect.value_minor for a in pricing.applied)
        assert value == _brute_force(carted, offers)
        assert sum(pricing.final.net) + pricing.discount_minor == carted.subtotal_minor
