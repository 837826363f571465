"""Pricing a cart: gather live promotions and the customer's coupons, check each, find the best
combination, and say why every other offer does not apply."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from tenure.errors import TenureError
from tenure.promotions import repository, spec
from tenure.promotions.applicator import Offer, Pricing, best_combination
from tenure.promotions.cart import Cart, CartLine
from tenure.promotions.coupons.codes import normalize
from tenure.promotions.errors import CouponCodeNotFound, OfferNotCombinable, rejection
from tenure.promotions.facts import ORDER_FACTS, CustomerFacts, FactsHints, customer_facts
from tenure.promotions.models import PromoCode, PromoOffer
from tenure.promotions.schemas import CheckoutIn
from tenure.promotions.validation import validate_coupon, validate_offer


@dataclass(frozen=True)
class Refusal:
    """An offer (or coupon code) that does not apply, with the error that says why."""

    offer_id: str
    name: str
    code: str | None
    error: TenureError


@dataclass(frozen=True)
class Quote:
    """A priced cart plus everything needed to hold it."""

    pricing: Pricing
    facts: CustomerFacts
    refused: tuple[Refusal, ...]
    unknown_codes: tuple[tuple[str, TenureError], ...]
    offers: dict[str, PromoOffer] = field(default_factory=dict)
    codes: dict[str, PromoCode] = field(default_factory=dict)


def cart_of(body: CheckoutIn, default_currency: str) -> Cart:
    """The cart value of a checkout request."""
    lines = tuple(CartLine(x.sku, x.quantity, x.unit_price_minor, x.category) for x in body.lines)
    return Cart((body.currency or default_currency).upper(), lines, body.shipping_minor)


def _facts(session: Session, body: CheckoutIn, rows: Iterable[PromoOffer]) -> CustomerFacts:
    """The customer's facts, looking up only those some offer's conditions read."""
    hints = FactsHints(
        body.customer.is_new_customer,
        body.customer.previous_orders,
        body.customer.tier,
        tuple(body.customer.segments),
    )
    needed = frozenset(c.get("type", "") for row in rows for c in row.conditions)
    orders = repository.confirmed_orders(session, body.user_id) if needed & ORDER_FACTS else 0
    return customer_facts(session, body.user_id, orders, hints, needed)


def quote(session: Session, body: CheckoutIn, default_currency: str, now: datetime) -> Quote:
    """Every applicable offer, the best combination, reasons for the rest, upsell hints."""
    cart = cart_of(body, default_currency)
    entered = list(dict.fromkeys(normalize(c) for c in body.codes))
    found = repository.codes_by_text(session, entered)
    unknown = tuple((c, CouponCodeNotFound(coupon=c)) for c in entered if c not in found)
    codes = [found[c] for c in entered if c in found]
    if body.use_wallet and body.user_id is not None:
        codes += [c for c in repository.wallet(session, body.user_id) if c.code not in found]
    automatic = repository.live_automatic(session, cart.currency)
    rows = {o.id: o for o in automatic}
    rows.update(repository.offers_by_ids(session, {c.offer_id for c in codes} - set(rows)))
    facts = _facts(session, body, rows.values())
    limited = {i for i, row in rows.items() if row.per_user_limit is not None}
    usage = repository.usage_by_user(session, facts.user_id, limited)

    refused: list[Refusal] = []
    candidates: list[Offer] = []
    for row in automatic:
        try:
            validate_offer(row, facts, usage.get(row.id, 0), cart.currency, now)
        except TenureError as exc:
            refused.append(Refusal(row.id, row.name, None, exc))
            continue
        candidates.append(spec.offer(row))
    by_code: dict[str, PromoCode] = {}
    taken: set[str] = set()
    for code in codes:
        row = rows[code.offer_id]
        try:
            if row.kind != "coupon":
                raise OfferNotCombinable(offer_id=row.id, names=row.name)
            validate_coupon(row, code, facts, usage.get(row.id, 0), cart.currency, now)
            if row.id in taken:
                # One use of a template per order: a second code for it stays unused.
                raise OfferNotCombinable(offer_id=row.id, names=row.name)
        except TenureError as exc:
            if code.user_id is None or code.code in found:  # silent for wallet coupons
                refused.append(Refusal(row.id, row.name, code.code, exc))
            continue
        taken.add(row.id)
        by_code[code.code] = code
        candidates.append(spec.offer(row, code.code))

    pricing = best_combination(cart, candidates, facts)
    for item in pricing.rejected:
        check = item.check
        error = rejection(
            check.code or "offer_rejected", cart.currency, {"offer_id": item.offer.id, **check.data}
        )
        refused.append(Refusal(item.offer.id, item.offer.name, item.offer.code, error))
    return Quote(pricing, facts, tuple(refused), unknown, rows, by_code)
