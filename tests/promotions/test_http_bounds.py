"""Offers, codes and carts the database cannot hold are a 422 naming the field, on SQLite and
PostgreSQL alike, and nothing is written (issue 11: these were 500s)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tenure.config import Settings
from tenure.kit.bounds import MONEY_MAX
from tenure.promotions.models import PromoOffer, PromoReservation
from tenure.storage.database import Database
from tests.problems import assert_invalid
from tests.promotions.test_http import CART, Api

GIFT = {
    "name": "gift",
    "kind": "automatic",
    "benefit": {"type": "gift", "sku": "G", "value_minor": 500},
}


@pytest.fixture
def api(settings: Settings, database: Database) -> Api:
    return Api(settings, database)


def _rows(database: Database, model: type) -> int:
    return int(database.read(lambda s: s.scalar(select(func.count()).select_from(model))))


class TestOffers:
    @pytest.mark.parametrize("field", ["per_user_limit", "total_limit", "stock"])
    def test_a_limit_beyond_its_integer_column_is_refused(
        self, api: Api, database: Database, field: str
    ) -> None:
        response = api.post("/v1/promotions/offers", {**GIFT, field: 2**31}, api.admin)
        assert_invalid(response, "body", field)
        assert _rows(database, PromoOffer) == 0

    def test_the_largest_limits_the_columns_hold_are_accepted(self, api: Api) -> None:
        top = 2**31 - 1
        offer = api.offer({**GIFT, "per_user_limit": top, "total_limit": top, "stock": top})
        shown = api.client.get(
            f"/v1/promotions/offers/{offer}", headers={"authorization": f"Bearer {api.admin}"}
        ).json()
        assert (shown["per_user_limit"], shown["total_limit"], shown["stock"]) == (top, top, top)

    def test_a_nul_in_a_name_or_group_is_refused(self, api: Api, database: Database) -> None:
        assert_invalid(api.post("/v1/promotions/offers", {**GIFT, "name": "g\x00"}, api.admin),
                       "body", "name")  # fmt: skip
        assert_invalid(api.post("/v1/promotions/offers", {**GIFT, "group": "a\x00"}, api.admin),
                       "body", "group")  # fmt: skip
        assert _rows(database, PromoOffer) == 0

    def test_a_shared_code_with_uses_beyond_its_column_is_refused(self, api: Api) -> None:
        offer = api.offer({**GIFT, "kind": "coupon"})
        response = api.post(
            f"/v1/promotions/offers/{offer}/codes", {"code": "SAVE10", "max_uses": 2**31}, api.admin
        )
        assert_invalid(response, "body", "max_uses")


class TestCodesInPaths:
    def test_a_nul_or_an_over_long_code_is_refused(self, api: Api) -> None:
        admin = {"authorization": f"Bearer {api.admin}"}
        assert_invalid(api.client.get("/v1/promotions/codes/A%00B", headers=admin), "path", "code")
        response = api.client.get(f"/v1/promotions/codes/{'C' * 65}", headers=admin)
        assert_invalid(response, "path", "code")
        missing = api.client.get(f"/v1/promotions/codes/{'C' * 64}", headers=admin)
        assert missing.status_code == 404

    def test_a_nul_in_an_offer_or_reservation_id_is_refused(self, api: Api) -> None:
        admin = {"authorization": f"Bearer {api.admin}"}
        response = api.client.get("/v1/promotions/offers/off%00", headers=admin)
        assert_invalid(response, "path", "offer_id")
        response = api.post("/v1/checkout/reservations/res%00/release")
        assert_invalid(response, "path", "reservation_id")

    def test_a_wallet_user_id_longer_than_its_column_is_refused(self, api: Api) -> None:
        server = {"authorization": f"Bearer {api.server}"}
        response = api.client.get(f"/v1/coupons/wallet/{'u' * 201}", headers=server)
        assert_invalid(response, "path", "user_id")


class TestCarts:
    def test_a_nul_in_a_cart_is_refused_and_holds_nothing(
        self, api: Api, database: Database
    ) -> None:
        for cart, loc in (
            ({**CART, "user_id": "u\x001"}, ("body", "user_id")),
            ({**CART, "codes": ["SAVE\x00"]}, ("body", "codes", 0)),
        ):
            assert_invalid(api.post("/v1/checkout/reservations", cart, **{"Idempotency-Key": "k"}),
                           *loc)  # fmt: skip
        assert _rows(database, PromoReservation) == 0

    def test_a_cart_adding_up_past_what_money_may_be_is_refused(
        self, api: Api, database: Database
    ) -> None:
        # 500 lines of 100,000 units at 10^15 each: the subtotal passed int64 (a 500).
        line = {"sku": "A", "quantity": 100_000, "unit_price_minor": MONEY_MAX}
        cart = {"user_id": "u1", "lines": [line] * 500}
        response = api.post("/v1/checkout/reservations", cart, **{"Idempotency-Key": "big"})
        assert_invalid(response, "body", "lines")
        assert _rows(database, PromoReservation) == 0
        one = {
            "user_id": "u1",
            "lines": [{"sku": "A", "quantity": 1, "unit_price_minor": MONEY_MAX}],
        }
        assert api.post("/v1/checkout/quote", one).json()["subtotal_minor"] == MONEY_MAX
