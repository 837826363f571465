"""Reserve → confirm → release / refund / expire, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tenure.config import Settings
from tenure.promotions.coupons import service as coupons
from tenure.promotions.errors import (
    CouponCodeUsedUp,
    CouponPerUserLimitReached,
    FlashSaleSoldOut,
    IdempotencyKeyReused,
    OfferFirstOrderOnly,
    ReservationNotHeld,
)
from tenure.promotions.models import PromoCode, PromoOffer, PromoRedemption
from tenure.promotions.service import offers, pricing, reservations
from tenure.storage.database import Database

from .builders import NOW, checkout, reserve_body, stored

TEN_OFF = {"type": "amount_off", "amount_minor": 1000}


def _offer(database: Database, offer_id: str) -> PromoOffer:
    with database.session() as session:
        row = session.get(PromoOffer, offer_id)
        assert row is not None
        return row


def _used(database: Database, offer_id: str) -> int:
    with database.session() as session:
        row = session.get(PromoOffer, offer_id)
        assert row is not None
        return offers.usage(session, [row])[offer_id]


def _single_use(database: Database, **fields: object) -> tuple[str, str]:
    with database.session() as session:
        template = stored(session, kind="coupon", benefit=TEN_OFF, **fields)
        code = coupons.create_unique_codes(session, template.id, 1, "", NOW).codes[0]
    return template.id, code


def _reserve(database: Database, key: str, **fields: object) -> str:
    with database.session() as session:
        return reservations.reserve(session, reserve_body(**fields), key, "USD", NOW).id


class TestReserve:
    def test_a_single_use_code_is_held_once(self, database: Database) -> None:
        offer_id, code = _single_use(database)
        _reserve(database, "k1", codes=[code])
        assert _used(database, offer_id) == 1
        with pytest.raises(CouponCodeUsedUp), database.session() as session:
            reservations.reserve(
                session, reserve_body(codes=[code], user_id="u9"), "k2", "USD", NOW
            )

    def test_the_same_idempotency_key_returns_the_same_hold(self, database: Database) -> None:
        offer_id, code = _single_use(database)
        first = _reserve(database, "k1", codes=[code])
        assert _reserve(database, "k1", codes=[code]) == first
        assert _used(database, offer_id) == 1

    def test_a_reused_key_with_another_cart_is_refused(self, database: Database) -> None:
        _reserve(database, "k1")
        with pytest.raises(IdempotencyKeyReused), database.session() as session:
            reservations.reserve(session, reserve_body(shipping_minor=500), "k1", "USD", NOW)

    def test_a_typed_code_that_does_not_apply_fails_the_reservation_with_its_reason(
        self, database: Database
    ) -> None:
        with database.session() as session:
            template = stored(
                session, kind="coupon", benefit=TEN_OFF, conditions=[{"type": "first_order"}]
            )
            coupons.create_shared_code(session, template.id, "WELCOME", None, NOW)
        with pytest.raises(OfferFirstOrderOnly), database.session() as session:
            body = reserve_body(codes=["welcome"], customer={"previous_orders": 2})
            reservations.reserve(session, body, "k1", "USD", NOW)

    def test_the_per_user_limit_counts_holds(self, database: Database) -> None:
        with database.session() as session:
            template = stored(session, kind="coupon", benefit=TEN_OFF, per_user_limit=1)
            coupons.create_shared_code(session, template.id, "SHARED", None, NOW)
        _reserve(database, "k1", codes=["SHARED"])
        with database.session() as session:
            result = pricing.quote(session, checkout(codes=["SHARED"]), "USD", NOW)
        assert [r.error.code for r in result.refused] == ["coupon_per_user_limit_reached"]
        with pytest.raises(CouponPerUserLimitReached), database.session() as session:
            reservations.reserve(session, reserve_body(codes=["SHARED"]), "k2", "USD", NOW)
        _reserve(database, "k3", codes=["SHARED"], user_id="u2")

    def test_flash_sale_stock_is_taken_per_unit(self, database: Database) -> None:
        with database.session() as session:
            flash = stored(
                session,
                benefit={"type": "sale_price", "price_minor": 1000},
                items={"skus": ["A"]},
                stock=3,
            )
        _reserve(database, "k1")  # two units of A
        assert _offer(database, flash.id).stock_used == 2
        _reserve(database, "k2", user_id="u2")  # one unit left: one at the sale price
        assert _offer(database, flash.id).stock_used == 3
        with database.session() as session:
            result = pricing.quote(session, checkout(user_id="u3"), "USD", NOW)
        assert [r.error.code for r in result.refused] == ["flash_sale_sold_out"]
        assert isinstance(result.refused[0].error, FlashSaleSoldOut)

    def test_holds_leave_the_row_of_an_offer_without_limits_alone(self, database: Database) -> None:
        # Every checkout would otherwise queue on the row lock of a shop-wide promotion.
        with database.session() as session:
            ladder = stored(session, benefit={"type": "amount_off", "amount_minor": 500})
            budgeted = stored(session, benefit={"type": "free_shipping"}, budget_minor=10000)
        _reserve(database, "k1", shipping_minor=400)
        assert (_offer(database, ladder.id).used_count, _used(database, ladder.id)) == (0, 1)
        assert (
            _offer(database, budgeted.id).used_count,
            _offer(database, budgeted.id).spent_minor,
        ) == (1, 400)


class TestLifecycle:
    def test_release_gives_the_code_stock_and_budget_back(self, database: Database) -> None:
        offer_id, code = _single_use(database, budget_minor=5000)
        held = _reserve(database, "k1", codes=[code])
        assert (_used(database, offer_id), _offer(database, offer_id).spent_minor) == (
            1,
            1000,
        )
        with database.session() as session:
            assert reservations.release(session, held, NOW).status == "released"
        with database.session() as session:
            assert reservations.release(session, held, NOW).status == "released"  # idempotent
        row = _offer(database, offer_id)
        assert (row.used_count, row.spent_minor) == (0, 0)
        _reserve(database, "k2", codes=[code])  # usable again

    def test_confirm_counts_the_order_so_first_order_offers_stop(self, database: Database) -> None:
        with database.session() as session:
            stored(session, benefit={"type": "free_shipping"}, conditions=[{"type": "first_order"}])
        held = _reserve(database, "k1", shipping_minor=700)
        with database.session() as session:
            confirmed = reservations.confirm(session, held, "order-1", NOW)
            assert (confirmed.status, confirmed.shipping_discount_minor) == ("confirmed", 700)
        with database.session() as session:
            again = pricing.quote(session, checkout(shipping_minor=700), "USD", NOW)
        assert again.pricing.shipping_off_minor == 0
        assert [r.error.code for r in again.refused] == ["offer_first_order_only"]

    def test_a_confirmed_hold_cannot_be_released(self, database: Database) -> None:
        held = _reserve(database, "k1")
        with database.session() as session:
            reservations.confirm(session, held, "o1", NOW)
        with pytest.raises(ReservationNotHeld), database.session() as session:
            reservations.release(session, held, NOW)

    @pytest.mark.parametrize(("returns", "used_after"), [(True, 0), (False, 1)])
    def test_a_refund_returns_the_coupon_only_when_the_template_says_so(
        self, database: Database, returns: bool, used_after: int
    ) -> None:
        offer_id, code = _single_use(database, returns_on_refund=returns)
        held = _reserve(database, "k1", codes=[code])
        with database.session() as session:
            reservations.confirm(session, held, "o1", NOW)
        with database.session() as session:
            assert reservations.refund(session, held, NOW).status == "refunded"
        assert _used(database, offer_id) == used_after
        with database.session() as session:
            row = session.scalars(select(PromoCode).where(PromoCode.code == code)).one()
            statuses = list(session.scalars(select(PromoRedemption.status)))
        assert row.used_count == used_after
        assert statuses == ["returned" if returns else "refunded"]

    def test_expired_holds_are_released_by_the_sweep(self, database: Database) -> None:
        offer_id, code = _single_use(database)
        held = _reserve(database, "k1", codes=[code], hold_seconds=60)
        with database.session() as session:
            assert reservations.release_expired(session, NOW + timedelta(seconds=59)) == 0
        with database.session() as session:
            assert reservations.release_expired(session, NOW + timedelta(seconds=61)) == 1
        with database.session() as session:
            assert reservations.get(session, held).status == "expired"
        assert _used(database, offer_id) == 0


class TestWallet:
    def test_issued_coupons_apply_automatically_and_only_for_their_owner(
        self, database: Database
    ) -> None:
        with database.session() as session:
            template = stored(session, kind="coupon", benefit=TEN_OFF)
            issued = coupons.issue_to_wallets(session, template.id, ["u1", "u2", "u1"], NOW)
        assert len(issued.codes) == 2
        with database.session() as session:
            mine = pricing.quote(session, checkout(), "USD", NOW)
            assert [a.offer.code for a in mine.pricing.applied] == [issued.codes[0]]
            theirs = pricing.quote(
                session, checkout(user_id="u3", codes=[issued.codes[0]]), "USD", NOW
            )
            assert [r.error.code for r in theirs.refused] == ["coupon_code_not_yours"]
            assert [e.code for e in coupons.wallet_of(session, "u1", NOW)] == [issued.codes[0]]

    def test_bulk_codes_are_unique_and_unambiguous(self, database: Database) -> None:
        with database.session() as session:
            template = stored(session, kind="coupon", benefit=TEN_OFF)
            made = coupons.create_unique_codes(session, template.id, 2000, "BF-", NOW).codes
        assert len(set(made)) == 2000
        assert all(
            c.startswith("BF-") and len(c) == 13 and not set(c[3:]) & set("01OIL") for c in made
        )


class TestExpiryJob:
    def test_the_job_releases_every_expired_hold_in_batches(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from tenure.promotions import jobs

        monkeypatch.setattr(jobs, "BATCH", 2)
        offer_id, _ = _single_use(database)
        with database.session() as session:
            coupons.create_shared_code(session, offer_id, "MANY", 10, NOW)
        for i in range(5):
            _reserve(database, f"k{i}", codes=["MANY"], user_id=f"u{i}", hold_seconds=30)
        assert jobs.release_expired_holds(database, NOW + timedelta(minutes=1)) == {"released": 5}
        with database.session() as session:
            code = session.scalars(select(PromoCode).where(PromoCode.code == "MANY")).one()
        assert code.used_count == 0


class TestPointsAfterTheOrder:
    def test_confirming_credits_the_points_once_through_loyalty(self, database: Database) -> None:
        from tenure.loyalty.service import award_points

        with database.session() as session:
            stored(
                session,
                benefit={"type": "points", "points": 200},
                conditions=[{"type": "min_spend", "amount_minor": 5000}],
            )
        held = _reserve(database, "k1")
        with database.session() as session:
            reservations.confirm(session, held, "o1", NOW)
        with database.session() as session:
            reservations.confirm(session, held, "o1", NOW)  # a repeated confirm awards nothing more
        with database.session() as session:
            # Awarding one more point reports the balance: the 200 came in exactly once.
            assert award_points(session, "u1", 1, "probe", "probe", NOW) == 201

    def test_the_worker_catalogue_runs_the_expiry_sweep(
        self, settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from tenure.jobs.catalog import default_registry
        from tenure.jobs.registry import JobContext
        from tenure.kit import time as kit_time
        from tenure.storage.warehouse import Warehouse

        spec = default_registry().get("promotions.expire")
        assert spec.interval_seconds == 60
        offer_id, _ = _single_use(database)
        with database.session() as session:
            coupons.create_shared_code(session, offer_id, "SOON", 10, NOW)
        _reserve(database, "k-old", codes=["SOON"], user_id="u1", hold_seconds=30)
        monkeypatch.setattr(kit_time, "utc_now", lambda: NOW + timedelta(hours=1))
        assert spec.run(JobContext(settings, database, Warehouse(settings))) == {"released": 1}
