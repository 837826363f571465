"""Creating, listing and pausing offers (coupon templates and automatic promotions)."""

from __future__ import annotations

from dataclasses import dataclass
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


# Redemption statuses whose discount was given: paid, or refunded while the offer stayed used.
GIVEN = ("used", "refunded")


@dataclass(frozen=True)
class OfferPerformance:
    """An offer with what it did: redemptions paid (`redemptions`, the refunded ones that kept
    their use included), open checkout holds, uses given back by refunds, the discounts given
    (`cost_minor`, as `coupons.service.discounts_given` counts them) and its budget. Amounts are
    minor units of `currency`; `budget_left_minor` subtracts what holds have reserved too."""

    id: str
    name: str
    kind: str
    status: str
    currency: str
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime
    redemptions: int
    held: int
    returned: int
    cost_minor: int
    budget_minor: int | None
    budget_left_minor: int | None
    total_limit: int | None
    stock: int | None
    stock_used: int
    codes: int


def performance(
    session: Session,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[OfferPerformance]:
    """One page of offers (newest first) with their redemptions, cost and budget."""
    rows = repository.offers(session, status, kind, limit, offset)
    ids = [row.id for row in rows]
    totals = repository.redemption_totals(session, ids)
    codes = repository.code_counts(session, ids)
    out = []
    for row in rows:
        by_status = totals.get(row.id, {})
        given = [by_status.get(s, (0, 0)) for s in GIVEN]
        budget_left = (
            None if row.budget_minor is None else max(0, row.budget_minor - row.spent_minor)
        )
        out.append(
            OfferPerformance(
                id=row.id,
                name=row.name,
                kind=row.kind,
                status=row.status,
                currency=row.currency,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                created_at=row.created_at,
                redemptions=sum(n for n, _ in given),
                held=by_status.get("held", (0, 0))[0],
                returned=by_status.get("returned", (0, 0))[0],
                cost_minor=sum(v for _, v in given),
                budget_minor=row.budget_minor,
                budget_left_minor=budget_left,
                total_limit=row.total_limit,
                stock=row.stock,
                stock_used=row.stock_used,
                codes=codes.get(row.id, 0),
            )
        )
    return out


@dataclass(frozen=True)
class OfferUse:
    """What one offer gave in a window: used redemptions and their discount (minor units)."""

    offer_id: str
    name: str
    kind: str
    currency: str
    redemptions: int
    discount_minor: int


def redemptions_between(session: Session, since: datetime, until: datetime) -> list[OfferUse]:
    """Per offer (and currency), the redemptions used at checkout in [since, until) and the
    discount they gave, largest discount first: what each offer cost in a week."""
    rows = repository.redemptions_by_offer(session, since, until)
    found = repository.offers_by_ids(session, {offer_id for offer_id, *_ in rows})
    uses = [
        OfferUse(
            offer_id=offer_id,
            name=found[offer_id].name if offer_id in found else offer_id,
            kind=found[offer_id].kind if offer_id in found else "",
            currency=currency,
            redemptions=count,
            discount_minor=value,
        )
        for offer_id, currency, count, value in rows
    ]
    uses.sort(key=lambda u: (-u.discount_minor, -u.redemptions, u.offer_id))
    return uses
