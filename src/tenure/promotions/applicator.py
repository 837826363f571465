"""The applicator: offers in priority order under stacking rules; the best combination, exactly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tenure.promotions.benefits import Benefit, Effect, Gift
from tenure.promotions.cart import Cart, ItemRange, Priced
from tenure.promotions.conditions import Check, Condition, HasEligibleItems, MinSpend, check_all
from tenure.promotions.facts import CustomerFacts

# Carts are small and so is the set of offers that can apply to one; beyond this many the
# lowest-priority ones are left out rather than letting a search grow as 2^n.
MAX_CANDIDATES = 12


@dataclass(frozen=True)
class Offer:
    """An offer ready to price: condition(s) + benefit over a range, with what is left of its
    stock and budget; `code` is the coupon code that brought it into this cart."""

    id: str
    name: str
    kind: str
    priority: int
    exclusive: bool
    group: str | None
    conditions: tuple[Condition, ...]
    benefit: Benefit
    item_range: ItemRange = field(default_factory=ItemRange)
    units_left: int | None = None
    budget_left: int | None = None
    code: str | None = None


@dataclass(frozen=True)
class Applied:
    """An offer in the chosen combination and its effect."""

    offer: Offer
    effect: Effect


@dataclass(frozen=True)
class Rejected:
    """An offer that does not apply, and why (a reason code with its data)."""

    offer: Offer
    check: Check


@dataclass(frozen=True)
class Upsell:
    """Spend `missing_minor` more on the offer's items to get `phrase`."""

    offer: Offer
    missing_minor: int
    phrase: str


@dataclass(frozen=True)
class Pricing:
    """The outcome for a cart: the best combination, every applicable offer alone, the rest with
    reasons, upsell hints, and the cart's final state."""

    cart: Cart
    applied: tuple[Applied, ...]
    applicable: tuple[Applied, ...]
    rejected: tuple[Rejected, ...]
    upsells: tuple[Upsell, ...]
    final: Priced

    @property
    def discount_minor(self) -> int:
        """Money off the items."""
        return sum(a.effect.discount_minor for a in self.applied)

    @property
    def shipping_off_minor(self) -> int:
        """Money off shipping."""
        return sum(a.effect.shipping_off for a in self.applied)

    @property
    def total_minor(self) -> int:
        """What the customer pays: items net of discounts plus the shipping still charged."""
        return sum(self.final.net) + self.final.shipping_minor

    @property
    def points(self) -> int:
        """Points promised after payment."""
        return sum(a.effect.points for a in self.applied)

    @property
    def gifts(self) -> tuple[Gift, ...]:
        """Gifts added to the order."""
        return tuple(g for a in self.applied for g in a.effect.gifts)


@dataclass(frozen=True)
class _Outcome:
    effect: Effect | None
    failures: list[Check]


def evaluate(offer: Offer, state: Priced, facts: CustomerFacts) -> _Outcome:
    """Check an offer's conditions on the cart priced so far and compute its effect."""
    conditions: tuple[Condition, ...] = (HasEligibleItems(), *offer.conditions)
    threshold = offer.benefit.threshold_minor()
    if threshold > 0:
        conditions = (*conditions, MinSpend(threshold))
    failures = check_all(conditions, state, offer.item_range, facts)
    if failures:
        return _Outcome(None, failures)
    effect = offer.benefit.apply(state, offer.item_range, offer.units_left)
    if effect.is_empty:
        return _Outcome(None, [Check(False, "offer_no_effect")])
    if offer.budget_left is not None and effect.value_minor > offer.budget_left:
        data = {"budget_left_minor": offer.budget_left, "value_minor": effect.value_minor}
        return _Outcome(None, [Check(False, "promotion_budget_exhausted", data)])
    return _Outcome(effect, [])


def _conflicts(offer: Offer, chosen: Sequence[Offer]) -> list[Offer]:
    """The chosen offers this one cannot stack with (exclusive, or the same group)."""
    return [
        other
        for other in chosen
        if offer.exclusive
        or other.exclusive
        or (offer.group is not None and offer.group == other.group)
    ]


class _Search:
    """Depth-first search over include/exclude in priority order, pruned by an upper bound:
    an offer never gives more after other discounts than alone, so its solo value bounds it."""

    def __init__(
        self, candidates: list[Offer], solo: dict[str, Effect], facts: CustomerFacts
    ) -> None:
        self.candidates, self.facts = candidates, facts
        self.bounds = [0] * (len(candidates) + 1)
        for i in range(len(candidates) - 1, -1, -1):
            self.bounds[i] = self.bounds[i + 1] + solo[candidates[i].id].value_minor
        self.best: tuple[Applied, ...] = ()
        self.best_key: tuple[int, int, int] = (0, 0, 0)

    def run(self, start: Priced) -> tuple[Applied, ...]:
        self._visit(0, (), start, 0, 0)
        return self.best

    def _visit(
        self, i: int, applied: tuple[Applied, ...], state: Priced, value: int, points: int
    ) -> None:
        key = (value, points, -len(applied))
        if key > self.best_key:
            self.best, self.best_key = applied, key
        if i == len(self.candidates) or value + self.bounds[i] < self.best_key[0]:
            return
        offer = self.candidates[i]
        if not _conflicts(offer, [a.offer for a in applied]):
            outcome = evaluate(offer, state, self.facts)
            if outcome.effect is not None:
                effect = outcome.effect
                self._visit(
                    i + 1,
                    (*applied, Applied(offer, effect)),
                    state.after(effect.line_discounts, effect.shipping_off),
                    value + effect.value_minor,
                    points + effect.points,
                )
        self._visit(i + 1, applied, state, value, points)


def _upsell(offer: Offer, state: Priced, failures: list[Check]) -> Upsell | None:
    """A hint when only spend is missing, or the next ladder rung of an offer that applies."""
    if failures and all(f.spend_only for f in failures):
        missing = max(f.missing_minor for f in failures)
        return Upsell(offer, missing, offer.benefit.describe(state.cart.currency))
    if not failures:
        step = offer.benefit.next_step(state, offer.item_range)
        if step is not None:
            return Upsell(offer, step.missing_minor, step.phrase)
    return None


def best_combination(cart: Cart, offers: Sequence[Offer], facts: CustomerFacts) -> Pricing:
    """Price a cart: the combination of offers worth most to the customer under stacking rules."""
    start = Priced.start(cart)
    ordered = sorted(offers, key=lambda o: (-o.priority, o.id))
    outcomes = {o.id: evaluate(o, start, facts) for o in ordered}
    candidates = [o for o in ordered if outcomes[o.id].effect is not None][:MAX_CANDIDATES]
    solo = {o.id: outcomes[o.id].effect for o in candidates}
    applicable = tuple(Applied(o, e) for o in candidates if (e := solo[o.id]) is not None)
    search = _Search(candidates, {k: v for k, v in solo.items() if v is not None}, facts)
    applied = search.run(start)
    final = start
    upsells: list[Upsell] = []
    for item in applied:
        # A ladder's next rung is measured where it applies, after the offers before it.
        hint = _upsell(item.offer, final, [])
        if hint is not None:
            upsells.append(hint)
        final = final.after(item.effect.line_discounts, item.effect.shipping_off)
    chosen_ids = {a.offer.id for a in applied}
    chosen = [a.offer for a in applied]
    rejected: list[Rejected] = []
    for offer in ordered:
        outcome = outcomes[offer.id]
        if offer.id in chosen_ids:
            continue
        if outcome.failures:
            rejected.append(Rejected(offer, outcome.failures[0]))
            hint = _upsell(offer, start, outcome.failures)
            if hint is not None:
                upsells.append(hint)
            continue
        conflicts = _conflicts(offer, chosen)
        if conflicts:
            names = ", ".join(o.name for o in conflicts)
            data = {"conflicts_with": [o.id for o in conflicts], "names": names}
            rejected.append(Rejected(offer, Check(False, "offer_not_combinable", data)))
            continue
        later = evaluate(offer, final, facts)
        reason = later.failures[0] if later.failures else Check(False, "offer_not_best")
        rejected.append(Rejected(offer, reason))
        hint = _upsell(offer, final, later.failures) if later.failures else None
        if hint is not None:
            upsells.append(hint)
    upsells.sort(key=lambda u: (u.missing_minor, u.offer.id))
    return Pricing(cart, applied, applicable, tuple(rejected), tuple(upsells), final)
