"""Domain values → API schemas (only the schemas know wire names)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tenure.errors import TenureError
from tenure.i18n import translate
from tenure.kit.money import Money
from tenure.promotions import spec
from tenure.promotions.applicator import Applied
from tenure.promotions.models import PromoCode, PromoOffer, PromoRefund, PromoReservation
from tenure.promotions.schemas import (
    AppliedOut,
    CodeOut,
    GiftOut,
    LineOut,
    OfferOut,
    QuoteOut,
    Reason,
    RefundOut,
    RejectedOut,
    ReservationOut,
    SuggestionOut,
    UnknownCodeOut,
    UpsellOut,
    WalletCoupon,
)

if TYPE_CHECKING:
    from tenure.promotions.coupons.service import WalletEntry
    from tenure.promotions.service.pricing import Quote


def reason(error: TenureError) -> Reason:
    """A refusal as code, message and data."""
    return Reason(code=error.code, message=error.message, data=error.data)


def applied_out(item: Applied, currency: str) -> AppliedOut:
    """One offer's effect."""
    effect = item.effect
    return AppliedOut(
        offer_id=item.offer.id,
        name=item.offer.name,
        kind=item.offer.kind,
        code=item.offer.code,
        description=item.offer.benefit.describe(currency),
        discount_minor=effect.discount_minor,
        shipping_discount_minor=effect.shipping_off,
        value_minor=effect.value_minor,
        gifts=[
            GiftOut(sku=g.sku, quantity=g.quantity, value_minor=g.value_minor) for g in effect.gifts
        ],
        points=effect.points,
        units=effect.units,
        line_discounts_minor=list(effect.line_discounts),
    )


def suggestion_out(item: Mapping[str, Any]) -> SuggestionOut:
    """One recommended item (`tenure.recommend.service.upsell`) as the quote shows it."""
    reason = item["reason"]
    return SuggestionOut(
        sku=item["sku"],
        name=item["name"],
        category=item["category"],
        reason_code=reason["code"],
        reason_text=reason["text"],
        anchor_sku=reason["sku"],
    )


def quote_out(result: Quote, suggestions: Sequence[SuggestionOut] = ()) -> QuoteOut:
    """The quote as the checkout API returns it, with the items to suggest beside the cart."""
    pricing = result.pricing
    cart = pricing.cart
    currency = cart.currency
    lines = [
        LineOut(
            sku=line.sku,
            quantity=line.quantity,
            unit_price_minor=line.unit_price_minor,
            discount_minor=line.subtotal_minor - net,
            total_minor=net,
        )
        for line, net in zip(cart.lines, pricing.final.net, strict=True)
    ]
    upsells = [
        UpsellOut(
            offer_id=u.offer.id,
            name=u.offer.name,
            missing_minor=u.missing_minor,
            message=translate(
                "upsell.spend_more", missing=str(Money(u.missing_minor, currency)), benefit=u.phrase
            ),
        )
        for u in pricing.upsells
    ]
    return QuoteOut(
        currency=currency,
        subtotal_minor=cart.subtotal_minor,
        discount_minor=pricing.discount_minor,
        shipping_minor=cart.shipping_minor,
        shipping_discount_minor=pricing.shipping_off_minor,
        total_minor=pricing.total_minor,
        points=pricing.points,
        lines=lines,
        applied=[applied_out(a, currency) for a in pricing.applied],
        applicable=[applied_out(a, currency) for a in pricing.applicable],
        rejected=[
            RejectedOut(offer_id=r.offer_id, name=r.name, code=r.code, reason=reason(r.error))
            for r in result.refused
        ],
        unknown_codes=[UnknownCodeOut(code=c, reason=reason(e)) for c, e in result.unknown_codes],
        upsells=upsells,
        suggestions=list(suggestions),
    )


def offer_out(row: PromoOffer, used: int | None = None) -> OfferOut:
    """An offer as stored (`used`: uses counted from redemptions, for offers without limits)."""
    return OfferOut(
        id=row.id,
        name=row.name,
        kind=row.kind,
        status=row.status,
        priority=row.priority,
        exclusive=row.exclusive,
        group=row.stack_group,
        currency=row.currency,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        conditions=row.conditions,
        benefit=row.benefit,
        items=row.item_range,
        per_user_limit=row.per_user_limit,
        total_limit=row.total_limit,
        used_count=row.used_count if used is None else used,
        budget_minor=row.budget_minor,
        spent_minor=row.spent_minor,
        stock=row.stock,
        stock_used=row.stock_used,
        returns_on_refund=row.returns_on_refund,
        created_at=row.created_at,
    )


def reservation_out(row: PromoReservation, refunds: Sequence[PromoRefund] = ()) -> ReservationOut:
    """A reservation with the quote it holds (and its refunds, when the caller read them)."""
    return ReservationOut(
        id=row.id,
        idempotency_key=row.idempotency_key,
        status=row.status,
        user_id=row.user_id,
        order_id=row.order_id,
        expires_at=row.expires_at,
        quote=QuoteOut.model_validate(row.quote),
        refunded_minor=row.refunded_minor or 0,
        refunds=[
            RefundOut(
                refund_id=r.refund_id,
                amount_minor=r.amount_minor,
                points_reversed=r.points_reversed,
                points_shortfall=r.points_shortfall,
                created_at=r.created_at,
            )
            for r in refunds
        ],
    )


def wallet_out(entry: WalletEntry) -> WalletCoupon:
    """A wallet coupon."""
    offer = entry.offer
    return WalletCoupon(
        code=entry.code,
        offer_id=offer.id,
        name=offer.name,
        description=spec.benefit(offer.benefit).describe(offer.currency),
        uses_left=entry.uses_left,
        ends_at=offer.ends_at,
    )


def code_out(code: PromoCode) -> CodeOut:
    """A code and its use."""
    return CodeOut(
        code=code.code,
        offer_id=code.offer_id,
        user_id=code.user_id,
        max_uses=code.max_uses,
        used_count=code.used_count,
        status=code.status,
        batch=code.batch,
        created_at=code.created_at,
    )
