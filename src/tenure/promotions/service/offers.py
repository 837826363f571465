"""Creating, listing and pausing offers (coupon templates and automatic promotions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tenure.kit.ids import new_id
from tenure.kit.time import as_utc
from tenure.promotions import repository, spec
from tenure.promotions.errors import InvalidOffer, OfferNotFound
from tenure.promotions.models import PromoOffer
from tenure.promotions.schemas import OfferIn

# Default order of application, like a till: item prices first (flash sale), then gifts and
# order-level promotions (满减), then coupons on what is left, shipping last, points after.
DEFAULT_PRIORITY = {
    "sale_price": 300,
    "gift": 250,
    "ladder": 200,
    "amount_off": 200,
    "percent_off": 200,
    "free_shipping": 50,
    "points": 0,
}
COUPON_PRIORITY_SHIFT = -100


def default_priority(kind: str, benefit_type: str) -> int:
    """Where an offer goes in the order of application when the operator does not say."""
    base = DEFAULT_PRIORITY.get(benefit_type, 100)
    if kind == "coupon" and benefit_type in ("amount_off", "percent_off", "ladder"):
        return base + COUPON_PRIORITY_SHIFT
    return base


def create_offer(
    session: Session, data: OfferIn, default_currency: str, now: datetime
) -> PromoOffer:
    """Store a new offer, active at once (its window still applies)."""
    dumped = data.model_dump(mode="json")
    row = PromoOffer(
        id=new_id("off", 8),
        name=data.name,
        kind=data.kind,
        status="active",
        priority=data.priority
        if data.priority is not None
        else default_priority(data.kind, data.benefit.type),
        exclusive=data.exclusive,
        stack_group=data.group,
        currency=(data.currency or default_currency).upper(),
        starts_at=as_utc(data.starts_at) if data.starts_at else None,
        ends_at=as_utc(data.ends_at) if data.ends_at else None,
        conditions=dumped["conditions"],
        benefit=dumped["benefit"],
        item_range=dumped["items"],
        per_user_limit=data.per_user_limit,
        total_limit=data.total_limit,
        used_count=0,
        budget_minor=data.budget_minor,
        spent_minor=0,
        stock=data.stock,
        stock_used=0,
        returns_on_refund=data.returns_on_refund,
        created_at=now,
    )
    try:
        spec.offer(row)  # every stored offer must be priceable
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidOffer(reason=str(exc)) from None
    repository.add(session, row)
    return row


def get_offer(session: Session, offer_id: str) -> PromoOffer:
    """One offer, or OfferNotFound."""
    row = repository.offer_by_id(session, offer_id)
    if row is None:
        raise OfferNotFound(offer_id=offer_id)
    return row


def list_offers(
    session: Session, status: str | None = None, kind: str | None = None
) -> list[PromoOffer]:
    """Offers, newest first."""
    return repository.offers(session, status, kind)


def set_status(session: Session, offer_id: str, status: str) -> PromoOffer:
    """Pause, resume or archive an offer; holds already made keep their terms."""
    row = get_offer(session, offer_id)
    row.status = status
    session.flush()
    return row


def usage(session: Session, rows: list[PromoOffer]) -> dict[str, int]:
    """Uses (held or confirmed) per offer: the counter for limited offers, the redemptions
    for unlimited ones (whose rows holds do not touch)."""
    found = {row.id: row.used_count for row in rows if row.counted}
    found.update(repository.redemption_counts(session, [r.id for r in rows if not r.counted]))
    return {row.id: found.get(row.id, 0) for row in rows}
