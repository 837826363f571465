"""Promotion errors: each a stable code with the data behind it; business refusals are 409."""

from __future__ import annotations

from typing import Any

from tenure.errors import BadRequest, Conflict, NotFound, TenureError
from tenure.kit.money import Money


class OfferRejected(Conflict):
    """An offer or coupon does not apply to this cart or customer."""

    code = "offer_rejected"


class CouponMinSpendNotMet(OfferRejected):
    """The cart does not reach the minimum spend."""

    code = "coupon_min_spend_not_met"


class OfferMinQuantityNotMet(OfferRejected):
    """Too few units of the offer's items."""

    code = "offer_min_quantity_not_met"


class OfferFirstOrderOnly(OfferRejected):
    """Only for a customer's first order."""

    code = "offer_first_order_only"


class OfferNewUserOnly(OfferRejected):
    """Only for new customers."""

    code = "offer_new_user_only"


class OfferTierRequired(OfferRejected):
    """Only for some loyalty tiers."""

    code = "offer_tier_required"


class OfferSegmentRequired(OfferRejected):
    """Only for some segments."""

    code = "offer_segment_required"


class OfferLoginRequired(OfferRejected):
    """Needs a known customer (per-user rules)."""

    code = "offer_login_required"


class OfferNoEligibleItems(OfferRejected):
    """No cart line is in the offer's range."""

    code = "offer_no_eligible_items"


class OfferNoEffect(OfferRejected):
    """The offer would change nothing on this cart."""

    code = "offer_no_effect"


class OfferNotCombinable(OfferRejected):
    """The offer cannot stack with the better combination chosen."""

    code = "offer_not_combinable"


class OfferNotBest(OfferRejected):
    """A better combination leaves this offer out."""

    code = "offer_not_best"


class OfferInactive(OfferRejected):
    """Paused or archived."""

    code = "offer_inactive"


class CouponNotStarted(OfferRejected):
    """The validity window has not opened."""

    code = "coupon_not_started"


class CouponExpired(OfferRejected):
    """The validity window has closed."""

    code = "coupon_expired"


class OfferCurrencyMismatch(OfferRejected):
    """The offer is for another currency."""

    code = "offer_currency_mismatch"


class CouponUsageLimitReached(OfferRejected):
    """The total quantity has been used."""

    code = "coupon_usage_limit_reached"


class CouponPerUserLimitReached(OfferRejected):
    """This customer has used it as often as allowed."""

    code = "coupon_per_user_limit_reached"


class PromotionBudgetExhausted(OfferRejected):
    """The money budget cannot cover this discount."""

    code = "promotion_budget_exhausted"


class FlashSaleSoldOut(OfferRejected):
    """No stock left at the sale price."""

    code = "flash_sale_sold_out"


class CouponCodeUsedUp(OfferRejected):
    """A single-use (or limited) code has been used."""

    code = "coupon_code_used_up"


class CouponCodeNotYours(OfferRejected):
    """A wallet coupon belongs to another customer."""

    code = "coupon_code_not_yours"


class CouponCodeDisabled(OfferRejected):
    """The code was disabled by an operator."""

    code = "coupon_code_disabled"


class CouponCodeNotFound(NotFound):
    """No such code."""

    code = "coupon_code_not_found"


class CouponCodeExists(Conflict):
    """A code with that text already exists."""

    code = "coupon_code_exists"


class OfferNotCoupon(Conflict):
    """Codes can only be made for coupon offers."""

    code = "offer_not_coupon"


class OfferNotFound(NotFound):
    """No offer with that id."""

    code = "offer_not_found"


class InvalidOffer(BadRequest):
    """An offer definition that cannot work."""

    code = "invalid_offer"


class ReservationNotFound(NotFound):
    """No reservation with that id."""

    code = "reservation_not_found"


class ReservationNotHeld(Conflict):
    """The reservation is not in a state that allows this."""

    code = "reservation_not_held"


class RefundExceedsTotal(Conflict):
    """A refund would take the reservation's refunds past what the customer paid."""

    code = "refund_exceeds_total"


class ReservationExpired(Conflict):
    """The hold ran out before payment was confirmed."""

    code = "reservation_expired"


class IdempotencyKeyReused(Conflict):
    """The same key was sent with a different request."""

    code = "idempotency_key_reused"


class IdempotencyKeyRequired(BadRequest):
    """Reservations need an Idempotency-Key."""

    code = "idempotency_key_required"


class CodeRequired(OfferRejected):
    """A coupon offer needs a code (or a wallet coupon) to apply."""

    code = "coupon_code_required"


_BY_CODE: dict[str, type[TenureError]] = {
    cls.code: cls
    for cls in (
        CouponMinSpendNotMet, OfferMinQuantityNotMet, OfferFirstOrderOnly, OfferNewUserOnly,
        OfferTierRequired, OfferSegmentRequired, OfferLoginRequired, OfferNoEligibleItems,
        OfferNoEffect, OfferNotCombinable, OfferNotBest, PromotionBudgetExhausted, FlashSaleSoldOut,
    )
}  # fmt: skip


def with_money(data: dict[str, Any], currency: str) -> dict[str, Any]:
    """The data plus a formatted amount ("20.00 USD") beside every `*_minor` integer."""
    out = dict(data)
    for key, value in data.items():
        if key.endswith("_minor") and isinstance(value, int):
            out[key.removesuffix("_minor")] = str(Money(value, currency))
    return out


def rejection(code: str, currency: str, data: dict[str, Any]) -> TenureError:
    """The error for a condition's reason code, its amounts formatted in `currency`."""
    cls = _BY_CODE.get(code, OfferRejected)
    return cls(code=code, **with_money(data, currency))
