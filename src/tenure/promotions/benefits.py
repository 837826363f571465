"""Benefits: what an offer gives over its range of items, as values (a discount, a gift, points)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tenure.i18n import translate
from tenure.kit.money import Money, apply_bps, split
from tenure.promotions.cart import ItemRange, Priced


@dataclass(frozen=True)
class Gift:
    """An item added to the order free of charge; `value_minor` is its retail value."""

    sku: str
    quantity: int
    value_minor: int


@dataclass(frozen=True)
class Effect:
    """What one offer does to a cart: per-line discounts (summing exactly), shipping off, gifts,
    points after the order, and the flash-sale units it takes from stock."""

    line_discounts: tuple[int, ...]
    shipping_off: int = 0
    gifts: tuple[Gift, ...] = ()
    points: int = 0
    units: int = 0

    @property
    def discount_minor(self) -> int:
        """Money off the items."""
        return sum(self.line_discounts)

    @property
    def value_minor(self) -> int:
        """What the customer gains in money: item discount + shipping off + gifts' value."""
        return self.discount_minor + self.shipping_off + sum(g.value_minor for g in self.gifts)

    @property
    def is_empty(self) -> bool:
        """The offer would change nothing."""
        return self.value_minor == 0 and self.points == 0


@dataclass(frozen=True)
class NextStep:
    """The next ladder rung: spend `missing_minor` more to get `phrase`."""

    missing_minor: int
    phrase: str


class Benefit(Protocol):
    """What an offer gives."""

    def apply(self, state: Priced, item_range: ItemRange, units_left: int | None) -> Effect:
        """The effect on the cart priced so far (`units_left`: stock, None = no limit)."""
        ...

    def threshold_minor(self) -> int:
        """The spend the benefit itself needs before it gives anything (ladders); 0 otherwise."""
        ...

    def next_step(self, state: Priced, item_range: ItemRange) -> NextStep | None:
        """The next rung above what the cart reaches, for the upsell hint."""
        ...

    def describe(self, currency: str) -> str:
        """A short phrase for the customer ("30.00 USD off")."""
        ...


def _spread(state: Priced, item_range: ItemRange, amount: int) -> tuple[int, ...]:
    """Split `amount` over the range's lines by their net amounts (largest remainder)."""
    eligible = [i for i in state.eligible(item_range) if state.net[i] > 0]
    parts = [0] * len(state.net)
    if amount <= 0 or not eligible:
        return tuple(parts)
    for i, part in zip(eligible, split(amount, [state.net[i] for i in eligible]), strict=True):
        parts[i] = part
    return tuple(parts)


def _money(minor: int, currency: str) -> str:
    return str(Money(minor, currency))


@dataclass(frozen=True)
class AmountOff:
    """A fixed amount off the range (never more than the range costs)."""

    amount_minor: int

    def apply(self, state: Priced, item_range: ItemRange, units_left: int | None) -> Effect:
        """Take the amount off, split over the range's lines."""
        off = min(self.amount_minor, state.spend(item_range))
        return Effect(_spread(state, item_range, off))

    def threshold_minor(self) -> int:
        """No spend of its own."""
        return 0

    def next_step(self, state: Priced, item_range: ItemRange) -> NextStep | None:
        """No rungs."""
        return None

    def describe(self, currency: str) -> str:
        """ "10.00 USD off"."""
        return translate("benefit.amount_off", amount=_money(self.amount_minor, currency))


@dataclass(frozen=True)
class PercentOff:
    """A percentage (basis points) off the range, optionally capped."""

    bps: int
    cap_minor: int | None = None

    def apply(self, state: Priced, item_range: ItemRange, units_left: int | None) -> Effect:
        """bps of the range's net spend, at most the cap."""
        off = apply_bps(state.spend(item_range), self.bps)
        if self.cap_minor is not None:
            off = min(off, self.cap_minor)
        return Effect(_spread(state, item_range, off))

    def threshold_minor(self) -> int:
        """No spend of its own."""
        return 0

    def next_step(self, state: Priced, item_range: ItemRange) -> NextStep | None:
        """No rungs."""
        return None

    def describe(self, currency: str) -> str:
        """ "10% off (up to 50.00 USD)"."""
        percent = f"{self.bps / 100:g}"
        if self.cap_minor is None:
            return translate("benefit.percent_off", percent=percent)
        cap = _money(self.cap_minor, currency)
        return translate("benefit.percent_off_capped", percent=percent, cap=cap)


@dataclass(frozen=True)
class Step:
    """One ladder rung: spend `threshold_minor`, save `amount_off_minor`."""

    threshold_minor: int
    amount_off_minor: int


@dataclass(frozen=True)
class Ladder:
    """Spend X save Y in tiers (满减): the highest rung reached applies."""

    steps: tuple[Step, ...]  # ascending thresholds

    def reached(self, spend: int) -> Step | None:
        """The highest rung at or below `spend`."""
        best = None
        for step in self.steps:
            if spend >= step.threshold_minor:
                best = step
        return best

    def apply(self, state: Priced, item_range: ItemRange, units_left: int | None) -> Effect:
        """The reached rung's amount off, split over the range's lines."""
        spend = state.spend(item_range)
        step = self.reached(spend)
        off = min(step.amount_off_minor, spend) if step else 0
        return Effect(_spread(state, item_range, off))

    def threshold_minor(self) -> int:
        """The lowest rung."""
        return self.steps[0].threshold_minor

    def next_step(self, state: Priced, item_range: ItemRange) -> NextStep | None:
        """The first rung above the current spend."""
        spend = state.spend(item_range)
        for step in self.steps:
            if step.threshold_minor > spend:
                currency = state.cart.currency
                phrase = translate(
                    "benefit.amount_off", amount=_money(step.amount_off_minor, currency)
                )
                return NextStep(step.threshold_minor - spend, phrase)
        return None

    def describe(self, currency: str) -> str:
        """The lowest rung: "10.00 USD off"."""
        return translate(
            "benefit.amount_off", amount=_money(self.steps[0].amount_off_minor, currency)
        )


@dataclass(frozen=True)
class FreeShipping:
    """Shipping free, or up to `cap_minor` off it."""

    cap_minor: int | None = None

    def apply(self, state: Priced, item_range: ItemRange, units_left: int | None) -> Effect:
        """Take the shipping still charged off, up to the cap."""
        off = (
            state.shipping_minor
            if self.cap_minor is None
            else min(self.cap_minor, state.shipping_minor)
        )
        return Effect(tuple(0 for _ in state.net), shipping_off=off)

    def threshold_minor(self) -> int:
        """No spend of its own."""
        return 0

    def next_step(self, state: Priced, item_range: ItemRange) -> NextStep | None:
        """No rungs."""
        return None

    def describe(self, currency: str) -> str:
        """ "free shipping"."""
        return translate("benefit.free_shipping")


@dataclass(frozen=True)
class GiftItem:
    """A gift with purchase."""

    sku: str
    quantity: int
    value_minor: int

    def apply(self, state: Priced, item_range: ItemRange, units_left: int | None) -> Effect:
        """Add the gift; gifts are only handed out while stock lasts."""
        if units_left is not None and units_left < self.quantity:
            return Effect(tuple(0 for _ in state.net))
        gift = Gift(self.sku, self.quantity, self.value_minor * self.quantity)
        return Effect(tuple(0 for _ in state.net), gifts=(gift,), units=self.quantity)

    def threshold_minor(self) -> int:
        """No spend of its own."""
        return 0

    def next_step(self, state: Priced, item_range: ItemRange) -> NextStep | None:
        """No rungs."""
        return None

    def describe(self, currency: str) -> str:
        """ "a free gift (SKU)"."""
        return translate("benefit.gift", sku=self.sku, quantity=self.quantity)


@dataclass(frozen=True)
class SalePrice:
    """A flash sale or limited-time price: each unit of the range at `price_minor`, while stock
    (`units_left`) and the per-order limit last."""

    price_minor: int
    max_units_per_order: int | None = None

    def apply(self, state: Priced, item_range: ItemRange, units_left: int | None) -> Effect:
        """Discount each unit down to the sale price, earliest lines first."""
        budget = [u for u in (units_left, self.max_units_per_order) if u is not None]
        left = min(budget) if budget else None
        parts = [0] * len(state.net)
        units = 0
        for i in state.eligible(item_range):
            line = state.cart.lines[i]
            per_unit = max(0, line.unit_price_minor - self.price_minor)
            if per_unit == 0:
                continue
            take = line.quantity if left is None else min(line.quantity, left - units)
            if take <= 0:
                break
            parts[i] = min(take * per_unit, state.net[i])
            units += take
        return Effect(tuple(parts), units=units if any(parts) else 0)

    def threshold_minor(self) -> int:
        """No spend of its own."""
        return 0

    def next_step(self, state: Priced, item_range: ItemRange) -> NextStep | None:
        """No rungs."""
        return None

    def describe(self, currency: str) -> str:
        """ "sale price 9.90 USD"."""
        return translate("benefit.sale_price", price=_money(self.price_minor, currency))


@dataclass(frozen=True)
class Points:
    """Loyalty points credited after the order is paid (a post-order action, no discount)."""

    points: int

    def apply(self, state: Priced, item_range: ItemRange, units_left: int | None) -> Effect:
        """Promise the points."""
        return Effect(tuple(0 for _ in state.net), points=self.points)

    def threshold_minor(self) -> int:
        """No spend of its own."""
        return 0

    def next_step(self, state: Priced, item_range: ItemRange) -> NextStep | None:
        """No rungs."""
        return None

    def describe(self, currency: str) -> str:
        """ "200 points"."""
        return translate("benefit.points", points=self.points)
