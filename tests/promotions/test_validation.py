"""Each `validate_*` check raises its own error with its data; `validate_coupon` combines them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.dialects import sqlite

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
)
from tenure.promotions.models import PromoCode, PromoOffer
from tenure.promotions.validation import (
    validate_active,
    validate_budget,
    validate_code,
    validate_coupon,
    validate_currency,
    validate_per_user,
    validate_stock,
    validate_total_limit,
    validate_window,
)
from tenure.storage.types import UtcDateTime

from .builders import GUEST, MEMBER, NOW


def template(**fields: object) -> PromoOffer:
    base: dict[str, object] = {
        "id": "off_1", "name": "t", "kind": "coupon", "status": "active", "currency": "USD",
        "starts_at": None, "ends_at": None, "per_user_limit": None, "total_limit": None,
        "used_count": 0, "budget_minor": None, "spent_minor": 0, "stock": None, "stock_used": 0,
    }  # fmt: skip
    return PromoOffer(**{**base, **fields})


def code(**fields: object) -> PromoCode:
    base: dict[str, object] = {
        "code": "ABC",
        "status": "active",
        "user_id": None,
        "max_uses": 1,
        "used_count": 0,
    }
    return PromoCode(**{**base, **fields})


class TestStateChecks:
    def test_paused_offers_are_inactive(self) -> None:
        with pytest.raises(OfferInactive) as err:
            validate_active(template(status="paused"))
        assert err.value.data == {"offer_id": "off_1", "state": "paused"}
        assert err.value.status == 409

    def test_the_window_opens_at_start_and_closes_at_end(self) -> None:
        validate_window(template(starts_at=NOW, ends_at=NOW + timedelta(days=1)), NOW)
        with pytest.raises(CouponNotStarted):
            validate_window(template(starts_at=NOW + timedelta(seconds=1)), NOW)
        with pytest.raises(CouponExpired) as err:
            validate_window(template(ends_at=NOW), NOW)
        assert err.value.data["ends_at"] == "2026-11-23T12:00:00+00:00"

    def test_a_naive_stored_time_is_read_as_utc(self) -> None:
        # SQLite hands back naive UTC; the column type makes it aware before rules see it.
        stored = UtcDateTime().process_result_value(NOW.replace(tzinfo=None), sqlite.dialect())
        with pytest.raises(CouponExpired):
            validate_window(template(ends_at=stored), NOW)

    def test_currency_total_stock_and_budget(self) -> None:
        with pytest.raises(OfferCurrencyMismatch):
            validate_currency(template(currency="EUR"), "USD")
        with pytest.raises(CouponUsageLimitReached) as used:
            validate_total_limit(template(total_limit=5, used_count=5))
        assert used.value.data["limit"] == 5
        validate_total_limit(template(total_limit=5, used_count=4))
        with pytest.raises(FlashSaleSoldOut):
            validate_stock(template(stock=5, stock_used=5))
        with pytest.raises(PromotionBudgetExhausted) as budget:
            validate_budget(template(budget_minor=10000, spent_minor=10000))
        assert budget.value.data["budget"] == "100.00 USD"

    def test_per_user_limit_needs_a_known_customer(self) -> None:
        limited = template(per_user_limit=2)
        validate_per_user(limited, MEMBER, 1)
        with pytest.raises(CouponPerUserLimitReached) as err:
            validate_per_user(limited, MEMBER, 2)
        assert err.value.data == {"offer_id": "off_1", "limit": 2, "used": 2}
        with pytest.raises(OfferLoginRequired):
            validate_per_user(limited, GUEST, 0)


class TestCodeChecks:
    def test_disabled_used_up_and_someone_elses_codes_are_refused(self) -> None:
        with pytest.raises(CouponCodeDisabled):
            validate_code(code(status="disabled"), MEMBER)
        with pytest.raises(CouponCodeUsedUp) as err:
            validate_code(code(used_count=1), MEMBER)
        assert (err.value.code, err.value.data["coupon"]) == ("coupon_code_used_up", "ABC")
        with pytest.raises(CouponCodeNotYours):
            validate_code(code(user_id="u2"), MEMBER)
        validate_code(code(user_id="u1", max_uses=None, used_count=99), MEMBER)

    def test_validate_coupon_raises_the_first_failure(self) -> None:
        with pytest.raises(CouponCodeUsedUp):
            validate_coupon(template(status="paused"), code(used_count=1), MEMBER, 0, "USD", NOW)
        with pytest.raises(OfferInactive):
            validate_coupon(template(status="paused"), code(), MEMBER, 0, "USD", NOW)
        validate_coupon(template(), code(), MEMBER, 0, "USD", NOW)
