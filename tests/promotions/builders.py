"""Builders for promotion tests: carts, priceable offers, stored offers and checkout bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from tenure.promotions import spec
from tenure.promotions.applicator import Offer
from tenure.promotions.cart import Cart, CartLine, ItemRange
from tenure.promotions.facts import CustomerFacts
from tenure.promotions.models import PromoOffer
from tenure.promotions.schemas import CheckoutIn, OfferIn, ReserveIn
from tenure.promotions.service import offers

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MEMBER = CustomerFacts("u1", previous_orders=3, is_new_customer=False, tier="gold")
NEWCOMER = CustomerFacts("u2", previous_orders=0, is_new_customer=True)
GUEST = CustomerFacts(None)


def cart(*lines: tuple[str, int, int] | tuple[str, int, int, str], shipping: int = 0) -> Cart:
    """A USD cart from (sku, quantity, unit price minor[, category]) tuples."""
    built = tuple(CartLine(x[0], x[1], x[2], x[3] if len(x) > 3 else None) for x in lines)  # type: ignore[misc]
    return Cart("USD", built, shipping)


def offer(
    benefit: dict[str, Any],
    *conditions: dict[str, Any],
    id: str = "o1",
    priority: int = 100,
    exclusive: bool = False,
    group: str | None = None,
    items: dict[str, Any] | None = None,
    units_left: int | None = None,
    budget_left: int | None = None,
    code: str | None = None,
) -> Offer:
    """A priceable offer from the same JSON the API stores."""
    return Offer(
        id=id,
        name=id,
        kind="coupon" if code else "automatic",
        priority=priority,
        exclusive=exclusive,
        group=group,
        conditions=tuple(spec.condition(c) for c in conditions),
        benefit=spec.benefit(benefit),
        item_range=spec.item_range(items) if items else ItemRange(),
        units_left=units_left,
        budget_left=budget_left,
        code=code,
    )


def stored(session: Session, **fields: Any) -> PromoOffer:
    """An offer created through the service (kind automatic unless given)."""
    fields.setdefault("kind", "automatic")
    fields.setdefault("name", fields["kind"])
    return offers.create_offer(session, OfferIn.model_validate(fields), "USD", NOW)


def _cart_fields(fields: dict[str, Any]) -> dict[str, Any]:
    fields.setdefault("user_id", "u1")
    fields.setdefault(
        "lines",
        [
            {"sku": "A", "quantity": 2, "unit_price_minor": 3000, "category": "shoes"},
            {"sku": "B", "quantity": 1, "unit_price_minor": 4000, "category": "hats"},
        ],
    )
    return fields


def checkout(**fields: Any) -> CheckoutIn:
    """A checkout body: user u1, two lines worth 100.00, unless told otherwise."""
    return CheckoutIn.model_validate(_cart_fields(fields))


def reserve_body(**fields: Any) -> ReserveIn:
    """A reserve body with the same defaults as `checkout`."""
    return ReserveIn.model_validate(_cart_fields(fields))
