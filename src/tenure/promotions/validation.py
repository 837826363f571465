"""Small `validate_*` checks on an offer's state, each raising a rich error; `validate_coupon()`
combines them (the cart-dependent conditions are the applicator's)."""

from __future__ import annotations

from datetime import datetime

from tenure.promotions.errors import (
    CouponCodeDisabled,
    CouponCodeNotYours,
    CouponCodeUsedUp,
    CouponExpired,
    CouponNotStarted,
    CouponPerUserLimitReached,
    CouponUsageLimitReached,
    FlashSaleSoldOut,
    OfferCurrencyMismatch,
    OfferInactive,
    OfferLoginRequired,
    PromotionBudgetExhausted,
    with_money,
)
from tenure.promotions.facts import CustomerFacts
from tenure.promotions.models import PromoCode, PromoOffer


def validate_active(offer: PromoOffer) -> None:
    """The offer is neither paused nor archived."""
    if offer.status != "active":
        raise OfferInactive(offer_id=offer.id, state=offer.status)


def validate_window(offer: PromoOffer, now: datetime) -> None:
    """Now is inside the validity window."""
    if offer.starts_at is not None and now < offer.starts_at:
        raise CouponNotStarted(offer_id=offer.id, starts_at=offer.starts_at.isoformat())
    if offer.ends_at is not None and now >= offer.ends_at:
        raise CouponExpired(offer_id=offer.id, ends_at=offer.ends_at.isoformat())


def validate_currency(offer: PromoOffer, currency: str) -> None:
    """The cart is in the offer's currency."""
    if offer.currency != currency:
        raise OfferCurrencyMismatch(
            offer_id=offer.id, offer_currency=offer.currency, currency=currency
        )


def validate_total_limit(offer: PromoOffer) -> None:
    """Uses (held or confirmed) are below the total quantity."""
    if offer.total_limit is not None and offer.used_count >= offer.total_limit:
        raise CouponUsageLimitReached(offer_id=offer.id, limit=offer.total_limit)


def validate_stock(offer: PromoOffer) -> None:
    """Some flash-sale stock is left."""
    if offer.stock is not None and offer.stock_used >= offer.stock:
        raise FlashSaleSoldOut(offer_id=offer.id, stock=offer.stock)


def validate_budget(offer: PromoOffer) -> None:
    """Some of the money budget is left."""
    if offer.budget_minor is not None and offer.spent_minor >= offer.budget_minor:
        data = {"budget_minor": offer.budget_minor, "budget_left_minor": 0}
        raise PromotionBudgetExhausted(offer_id=offer.id, **with_money(data, offer.currency))


def validate_per_user(offer: PromoOffer, facts: CustomerFacts, used_by_user: int) -> None:
    """The customer has uses left (a per-user limit needs a known customer)."""
    if offer.per_user_limit is None:
        return
    if facts.is_guest:
        raise OfferLoginRequired(offer_id=offer.id)
    if used_by_user >= offer.per_user_limit:
        raise CouponPerUserLimitReached(
            offer_id=offer.id, limit=offer.per_user_limit, used=used_by_user
        )


def validate_code(code: PromoCode, facts: CustomerFacts) -> None:
    """The code is enabled, has uses left and, for a wallet coupon, belongs to this customer."""
    if code.status != "active":
        raise CouponCodeDisabled(coupon=code.code)
    if code.user_id is not None and code.user_id != facts.user_id:
        raise CouponCodeNotYours(coupon=code.code)
    if code.max_uses is not None and code.used_count >= code.max_uses:
        raise CouponCodeUsedUp(coupon=code.code, max_uses=code.max_uses)


def validate_offer(
    offer: PromoOffer, facts: CustomerFacts, used_by_user: int, currency: str, now: datetime
) -> None:
    """Every state check of an automatic promotion, first failure raised."""
    validate_active(offer)
    validate_currency(offer, currency)
    validate_window(offer, now)
    validate_total_limit(offer)
    validate_stock(offer)
    validate_budget(offer)
    validate_per_user(offer, facts, used_by_user)


def validate_coupon(
    offer: PromoOffer,
    code: PromoCode,
    facts: CustomerFacts,
    used_by_user: int,
    currency: str,
    now: datetime,
) -> None:
    """Every state check of a coupon code and its template (Saleor's voucher validation)."""
    validate_code(code, facts)
    validate_offer(offer, facts, used_by_user, currency, now)
