"""Holding offers for a checkout: reserve (atomic), confirm on payment, release on cancel or
expiry, refund in full or in part (bonus points taken back, the coupon given back when the
template says so)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.errors import TenureError
from tenure.kit.ids import content_hash, new_id
from tenure.loyalty.service import award_points, reverse_award
from tenure.promotions import repository, views
from tenure.promotions.coupons.codes import normalize
from tenure.promotions.errors import (
    CouponCodeNotFound,
    CouponCodeUsedUp,
    CouponPerUserLimitReached,
    CouponUsageLimitReached,
    FlashSaleSoldOut,
    IdempotencyKeyReused,
    OfferNotFound,
    PromotionBudgetExhausted,
    RefundExceedsTotal,
    ReservationExpired,
    ReservationNotFound,
    ReservationNotHeld,
    with_money,
)
from tenure.promotions.models import PromoOffer, PromoRedemption, PromoRefund, PromoReservation
from tenure.promotions.schemas import ReserveIn
from tenure.promotions.service.pricing import Quote, quote

# The refund id of a refund sent without one: "all that is left", which can happen only once.
FULL_REFUND = "full"


def request_hash(body: ReserveIn) -> str:
    """A digest of what was asked, so a reused idempotency key with another cart is refused."""
    return content_hash(body.model_dump_json(exclude={"idempotency_key"}))


def replay(session: Session, key: str, digest: str) -> PromoReservation | None:
    """The reservation already made with this key, if any (a different request is refused)."""
    existing = repository.reservation_by_key(session, key)
    if existing is not None and existing.request_hash != digest:
        raise IdempotencyKeyReused(idempotency_key=key)
    return existing


def _insist_on_codes(result: Quote, entered: list[str]) -> None:
    """A code the customer typed must be used, or the checkout says why not."""
    used = {a.offer.code for a in result.pricing.applied}
    for _code, error in result.unknown_codes:
        raise error
    for text in dict.fromkeys(normalize(c) for c in entered):
        if text in used:
            continue
        for refusal in result.refused:
            if refusal.code == text:
                raise refusal.error
        raise CouponCodeNotFound(coupon=text)


def _insist_on_offers(result: Quote, expected: list[str]) -> None:
    """The offers the customer was promised (a flash sale, a budgeted promotion) must apply."""
    applied = {a.offer.id for a in result.pricing.applied}
    for offer_id in dict.fromkeys(expected):
        if offer_id in applied:
            continue
        for refusal in result.refused:
            if refusal.offer_id == offer_id:
                raise refusal.error
        raise OfferNotFound(offer_id=offer_id)


def _why_not(session: Session, offer_id: str, value_minor: int, units: int) -> TenureError:
    """Which limit stopped a hold (read after the failed conditional update)."""
    row = session.scalars(
        select(PromoOffer)
        .where(PromoOffer.id == offer_id)
        .execution_options(populate_existing=True)
    ).one()
    if row.stock is not None and row.stock_used + units > row.stock:
        return FlashSaleSoldOut(offer_id=row.id, stock=row.stock, left=row.stock - row.stock_used)
    if row.budget_minor is not None and row.spent_minor + value_minor > row.budget_minor:
        data = {
            "budget_minor": row.budget_minor,
            "budget_left_minor": row.budget_minor - row.spent_minor,
        }
        return PromotionBudgetExhausted(offer_id=row.id, **with_money(data, row.currency))
    return CouponUsageLimitReached(offer_id=row.id, limit=row.total_limit)


def _hold(session: Session, result: Quote) -> None:
    """Take every use, unit and budget the chosen offers need, or raise (the caller rolls back).

    Codes, then offers, each in id order: concurrent holds lock rows in one order, so they queue
    instead of deadlocking. On PostgreSQL each conditional UPDATE waits for the row lock and
    re-checks its WHERE on the committed row, so a limit can never be passed.
    """
    applied = result.pricing.applied
    for code in sorted(
        (result.codes[a.offer.code] for a in applied if a.offer.code), key=lambda c: c.id
    ):
        if not repository.take_code(session, code.id):
            raise CouponCodeUsedUp(coupon=code.code, max_uses=code.max_uses)
    for item in sorted(applied, key=lambda a: a.offer.id):
        if not result.offers[item.offer.id].counted:
            continue
        value, units = item.effect.value_minor, item.effect.units
        if not repository.take_offer(session, item.offer.id, value, units):
            raise _why_not(session, item.offer.id, value, units)
    limited = [a.offer.id for a in applied if result.offers[a.offer.id].per_user_limit is not None]
    # Counted after the offer row is locked by the update above, so two checkouts of one
    # customer cannot both see the last free use.
    usage = repository.usage_by_user(session, result.facts.user_id, limited)
    for offer_id in limited:
        limit = result.offers[offer_id].per_user_limit or 0
        if usage.get(offer_id, 0) >= limit:
            raise CouponPerUserLimitReached(offer_id=offer_id, limit=limit, used=usage[offer_id])


def reserve(
    session: Session, body: ReserveIn, key: str, default_currency: str, now: datetime
) -> PromoReservation:
    """Price the cart and hold the best combination until confirmed, released or expired."""
    digest = request_hash(body)
    existing = replay(session, key, digest)
    if existing is not None:
        return existing
    result = quote(session, body, default_currency, now)
    if body.require_codes:
        _insist_on_codes(result, body.codes)
    _insist_on_offers(result, body.expect_offers)
    _hold(session, result)
    pricing = result.pricing
    row = PromoReservation(
        id=new_id("rsv", 12),
        idempotency_key=key,
        request_hash=digest,
        user_id=body.user_id,
        order_id=None,
        status="held",
        currency=pricing.cart.currency,
        subtotal_minor=pricing.cart.subtotal_minor,
        discount_minor=pricing.discount_minor,
        shipping_discount_minor=pricing.shipping_off_minor,
        total_minor=pricing.total_minor,
        quote=views.quote_out(result).model_dump(mode="json"),
        created_at=now,
        expires_at=now + timedelta(seconds=body.hold_seconds),
    )
    session.add(row)
    session.flush()  # the redemptions reference it
    for item in pricing.applied:
        code = result.codes.get(item.offer.code) if item.offer.code else None
        session.add(
            PromoRedemption(
                reservation_id=row.id,
                offer_id=item.offer.id,
                code_id=code.id if code else None,
                user_id=body.user_id,
                value_minor=item.effect.value_minor,
                units=item.effect.units,
                status="held",
                created_at=now,
            )
        )
    session.flush()
    return row


def get(session: Session, reservation_id: str, lock: bool = False) -> PromoReservation:
    """A reservation, or ReservationNotFound."""
    row = repository.reservation(session, reservation_id, lock)
    if row is None:
        raise ReservationNotFound(reservation_id=reservation_id)
    return row


def confirm(
    session: Session, reservation_id: str, order_id: str, now: datetime
) -> PromoReservation:
    """Payment arrived: the holds become uses and the customer has one more order. Idempotent.

    A hold past its expiry that no sweep has released yet still holds its uses, so it is confirmed.
    """
    row = get(session, reservation_id, lock=True)
    if row.status == "confirmed" and row.order_id == order_id:
        return row
    if row.status == "expired":
        raise ReservationExpired(reservation_id=row.id, expires_at=row.expires_at.isoformat())
    if row.status != "held":
        raise ReservationNotHeld(reservation_id=row.id, state=row.status)
    row.status, row.order_id = "confirmed", order_id
    for redemption in repository.redemptions(session, row.id):
        redemption.status = "used"
    if row.user_id is not None:
        repository.count_order(session, row.user_id, now)
        _award_points(session, row, now)
    session.flush()
    return row


def _points_benefits(row: PromoReservation) -> list[tuple[str, int]]:
    """(offer, points) of the points benefits the reservation's quote applied."""
    return [(a["offer_id"], int(a["points"])) for a in row.quote["applied"] if a.get("points")]


def _award_points(session: Session, row: PromoReservation, now: datetime) -> None:
    """Credit the points benefits of a paid order through the loyalty domain, once per offer
    (the key makes a repeated confirm harmless)."""
    earned = _points_benefits(row)
    if not earned or row.user_id is None:
        return
    for offer_id, points in earned:
        award_points(
            session, row.user_id, points, f"promotion:{offer_id}", f"promo:{row.id}:{offer_id}", now
        )


def release(
    session: Session, reservation_id: str, now: datetime, status: str = "released"
) -> PromoReservation:
    """Cancel a hold: every use, unit and budget goes back. Idempotent."""
    row = get(session, reservation_id, lock=True)
    if row.status in ("released", "expired"):
        return row
    if row.status != "held":
        raise ReservationNotHeld(reservation_id=row.id, state=row.status)
    _give_back(session, repository.redemptions(session, row.id), "released", with_units=True)
    row.status, row.closed_at = status, now
    session.flush()
    return row


def _give_back(
    session: Session, items: list[PromoRedemption], status: str, with_units: bool
) -> None:
    offers = repository.offers_by_ids(session, {r.offer_id for r in items})
    for item in sorted(items, key=lambda r: r.code_id or 0):
        if item.code_id is not None:
            repository.give_back_code(session, item.code_id)
    for item in sorted(items, key=lambda r: r.offer_id):
        if offers[item.offer_id].counted:
            units = item.units if with_units else 0
            repository.give_back_offer(session, item.offer_id, item.value_minor, units)
        item.status = status


def refund(
    session: Session,
    reservation_id: str,
    now: datetime,
    refund_id: str | None = None,
    amount_minor: int | None = None,
) -> PromoReservation:
    """The paid order was refunded: all that is left of it, or `amount_minor` of it.

    Points benefits are taken back through loyalty in proportion to what is refunded so far (all
    of them once the order is refunded in full). When the refunds reach the total, coupons whose
    template says so are usable again (their use and budget return; flash-sale stock sold stays
    sold). Idempotent per `refund_id`; a refund without one means "the rest" and happens once.
    """
    row = get(session, reservation_id, lock=True)
    key = refund_id or FULL_REFUND
    done = repository.refund_by_id(session, row.id, key)
    if done is not None:
        if amount_minor is not None and amount_minor != done.amount_minor:
            raise IdempotencyKeyReused(idempotency_key=key)
        return row
    if row.status == "refunded" and refund_id is None and amount_minor is None:
        return row  # refunded in full before refunds were recorded one by one
    if row.status != "confirmed":
        raise ReservationNotHeld(reservation_id=row.id, state=row.status)
    left = row.total_minor - row.refunded_minor
    amount = left if amount_minor is None else amount_minor
    if amount > left:
        data = {
            "total_minor": row.total_minor,
            "refunded_minor": row.refunded_minor,
            "requested_minor": amount,
        }
        raise RefundExceedsTotal(reservation_id=row.id, **with_money(data, row.currency))
    record = PromoRefund(
        reservation_id=row.id,
        refund_id=key,
        amount_minor=amount,
        points_reversed=0,
        points_shortfall=0,
        created_at=now,
    )
    repository.add(session, record)  # its id keys the loyalty reversals below
    row.refunded_minor += amount
    _reverse_points(session, row, record, now)
    if row.refunded_minor >= row.total_minor:
        _close_refunded(session, row, now)
    session.flush()
    return row


def _reverse_points(
    session: Session, row: PromoReservation, record: PromoRefund, now: datetime
) -> None:
    """Take back the refunded share of each points benefit, as loyalty does for an order's own
    points: cumulative, so partial refunds add up to the whole and rounding never drifts."""
    earned = _points_benefits(row)
    if not earned or row.user_id is None:
        return
    full = row.refunded_minor >= row.total_minor
    for offer_id, points in earned:
        target = points if full else points * row.refunded_minor // row.total_minor
        result = reverse_award(
            session, f"promo:{row.id}:{offer_id}", f"promo-refund:{record.id}:{offer_id}",
            f"refund:promotion:{offer_id}", target, now,
        )  # fmt: skip
        if result is not None:
            record.points_reversed += result.taken
            record.points_shortfall += result.shortfall


def _close_refunded(session: Session, row: PromoReservation, now: datetime) -> None:
    """The order is refunded in full: give back what the templates say, close the reservation."""
    items = repository.redemptions(session, row.id)
    offers = repository.offers_by_ids(session, {r.offer_id for r in items})
    returned = [r for r in items if offers[r.offer_id].returns_on_refund]
    _give_back(session, returned, "returned", with_units=False)
    for item in items:
        if item not in returned:
            item.status = "refunded"
    row.status, row.closed_at = "refunded", now


def release_expired(session: Session, now: datetime, limit: int = 1000) -> int:
    """Release holds whose time ran out; returns how many."""
    count = 0
    for row in repository.expired_held(session, now, limit):
        release(session, row.id, now, status="expired")
        count += 1
    return count


def refunds_of(session: Session, reservation_id: str) -> list[PromoRefund]:
    """A reservation's refunds, oldest first."""
    return repository.refunds(session, reservation_id)
