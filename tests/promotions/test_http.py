"""The HTTP API: scopes, problem+json refusals with their data, quote, reserve, confirm, refund."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.storage.database import Database

LADDER = {
    "name": "满减",
    "kind": "automatic",
    "benefit": {
        "type": "ladder",
        "steps": [
            {"threshold_minor": 10000, "amount_off_minor": 1000},
            {"threshold_minor": 12000, "amount_off_minor": 3000},
        ],
    },
}
CART = {
    "user_id": "u1",
    "lines": [
        {"sku": "A", "quantity": 2, "unit_price_minor": 3000},
        {"sku": "B", "quantity": 1, "unit_price_minor": 4000},
    ],
    "shipping_minor": 600,
}


class Api:
    """A test client with an admin and a server key."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.client = TestClient(create_app(settings))
        with database.session() as session:
            self.admin = create_key(session, "admin", ["admin"]).secret
            self.server = create_key(session, "shop", ["server"]).secret
            self.write = create_key(session, "web", ["write"]).secret

    def post(self, path: str, body: Any = None, key: str | None = None, **headers: str) -> Any:
        headers["authorization"] = f"Bearer {key or self.server}"
        return self.client.post(path, json=body, headers=headers)

    def offer(self, body: dict[str, Any]) -> str:
        response = self.post("/v1/promotions/offers", body, self.admin)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def codes(self, offer_id: str, body: dict[str, Any]) -> list[str]:
        response = self.post(f"/v1/promotions/offers/{offer_id}/codes", body, self.admin)
        assert response.status_code == 201, response.text
        return list(response.json()["codes"])


@pytest.fixture
def api(settings: Settings, database: Database) -> Api:
    return Api(settings, database)


class TestAuth:
    def test_checkout_needs_a_server_key(self, api: Api) -> None:
        assert api.client.post("/v1/checkout/quote", json=CART).status_code == 401
        assert api.post("/v1/checkout/quote", CART, api.write).json()["code"] == "scope_required"

    def test_offers_need_an_admin_key(self, api: Api) -> None:
        assert api.post("/v1/promotions/offers", LADDER).status_code == 403


class TestQuote:
    def test_the_quote_has_totals_reasons_and_an_upsell(self, api: Api) -> None:
        api.offer(LADDER)
        first = api.offer(
            {"name": "first order", "kind": "automatic", "benefit": {"type": "free_shipping"},
             "conditions": [{"type": "first_order"}]}
        )  # fmt: skip
        body = api.post("/v1/checkout/quote", {**CART, "customer": {"previous_orders": 4}}).json()
        assert (body["subtotal_minor"], body["discount_minor"], body["total_minor"]) == (
            10000,
            1000,
            9600,
        )
        assert [line["discount_minor"] for line in body["lines"]] == [600, 400]
        assert body["rejected"] == [
            {
                "offer_id": first,
                "name": "first order",
                "code": None,
                "reason": {
                    "code": "offer_first_order_only",
                    "message": "This offer is for a first order only.",
                    "data": {"offer_id": first, "previous_orders": 4},
                },
            }
        ]
        assert [u["message"] for u in body["upsells"]] == ["Spend 20.00 USD more for 30.00 USD off"]

    def test_unknown_codes_are_listed_not_fatal(self, api: Api) -> None:
        body = api.post("/v1/checkout/quote", {**CART, "codes": ["nope"]}).json()
        assert body["unknown_codes"][0]["reason"]["code"] == "coupon_code_not_found"

    def test_a_malformed_offer_is_422(self, api: Api) -> None:
        bad = {**LADDER, "benefit": {"type": "ladder", "steps": [
            {"threshold_minor": 100, "amount_off_minor": 50}, {"threshold_minor": 200, "amount_off_minor": 10}]}}  # fmt: skip
        response = api.post("/v1/promotions/offers", bad, api.admin)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")


class TestValidate:
    def test_a_coupon_that_does_not_apply_is_a_409_with_the_data_behind_it(self, api: Api) -> None:
        coupon = api.offer(
            {"name": "20 off 150", "kind": "coupon", "benefit": {"type": "amount_off", "amount_minor": 2000},
             "conditions": [{"type": "min_spend", "amount_minor": 15000}]}
        )  # fmt: skip
        code = api.codes(coupon, {"code": "SPRING", "max_uses": 100})[0]
        response = api.post("/v1/coupons/validate", {**CART, "code": code.lower()})
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "coupon_min_spend_not_met"
        assert (problem["min_spend_minor"], problem["missing_minor"], problem["missing"]) == (
            15000,
            5000,
            "50.00 USD",
        )
        assert (
            problem["detail"]
            == "Spend at least 150.00 USD on eligible items; 50.00 USD more is needed."
        )

    def test_a_coupon_that_applies_says_what_it_gives(self, api: Api) -> None:
        coupon = api.offer(
            {"name": "10%", "kind": "coupon", "benefit": {"type": "percent_off", "bps": 1000}}
        )
        code = api.codes(coupon, {"count": 1})[0]
        body = api.post("/v1/coupons/validate", {**CART, "code": code}).json()
        assert (body["discount_minor"], body["description"]) == (1000, "10% off")

    def test_an_unknown_code_is_404(self, api: Api) -> None:
        response = api.post("/v1/coupons/validate", {**CART, "code": "NOPE"})
        assert (response.status_code, response.json()["code"]) == (404, "coupon_code_not_found")


class TestReservations:
    def test_reserve_confirm_refund_over_http(self, api: Api) -> None:
        coupon = api.offer(
            {
                "name": "5 off",
                "kind": "coupon",
                "benefit": {"type": "amount_off", "amount_minor": 500},
            }
        )
        code = api.codes(coupon, {"count": 1})[0]
        assert (
            api.post("/v1/checkout/reservations", CART).json()["code"] == "idempotency_key_required"
        )
        made = api.post(
            "/v1/checkout/reservations", {**CART, "codes": [code]}, **{"Idempotency-Key": "order-7"}
        )
        assert made.status_code == 201
        held = made.json()
        assert (held["status"], held["quote"]["total_minor"]) == ("held", 10100)
        again = api.post(
            "/v1/checkout/reservations", {**CART, "codes": [code]}, **{"Idempotency-Key": "order-7"}
        )
        assert (again.status_code, again.json()["id"]) == (200, held["id"])
        other = api.post(
            "/v1/checkout/reservations", {**CART, "codes": [code]}, **{"Idempotency-Key": "order-8"}
        )
        assert (other.status_code, other.json()["code"], other.json()["coupon"]) == (
            409,
            "coupon_code_used_up",
            code,
        )
        path = f"/v1/checkout/reservations/{held['id']}"
        assert api.post(f"{path}/release-nope").status_code == 404
        assert api.post(f"{path}/confirm", {"order_id": "o7"}).json()["status"] == "confirmed"
        assert api.post(f"{path}/release").json()["code"] == "reservation_not_held"
        assert api.post(f"{path}/refund").json()["status"] == "refunded"
        offer = api.client.get(
            f"/v1/promotions/offers/{coupon}", headers={"authorization": f"Bearer {api.admin}"}
        )
        assert offer.json()["used_count"] == 0

    def test_partial_refunds_take_back_bonus_points_in_proportion(self, api: Api) -> None:
        api.offer(
            {"name": "bonus", "kind": "automatic", "benefit": {"type": "points", "points": 300}}
        )
        made = api.post("/v1/checkout/reservations", CART, **{"Idempotency-Key": "order-9"})
        path = f"/v1/checkout/reservations/{made.json()['id']}"
        total = made.json()["quote"]["total_minor"]
        assert api.post(f"{path}/confirm", {"order_id": "o9"}).status_code == 200

        def balance() -> int:
            account = api.client.get(
                "/v1/loyalty/accounts/u1", headers={"authorization": f"Bearer {api.server}"}
            )
            return int(account.json()["balances"]["available"])

        assert balance() == 300
        part = api.post(f"{path}/refund", {"refund_id": "rf-1", "amount_minor": total // 2})
        assert part.status_code == 200, part.text
        body = part.json()
        assert (body["status"], body["refunded_minor"]) == ("confirmed", total // 2)
        assert [(r["refund_id"], r["points_reversed"]) for r in body["refunds"]] == [("rf-1", 150)]
        assert (
            api.post(f"{path}/refund", {"refund_id": "rf-1", "amount_minor": total // 2}).json()[
                "refunds"
            ]
            == body["refunds"]
        )  # a retry changes nothing
        assert balance() == 150
        too_much = api.post(f"{path}/refund", {"refund_id": "rf-2", "amount_minor": total})
        assert too_much.status_code == 409
        assert too_much.headers["content-type"] == "application/problem+json"
        assert (too_much.json()["code"], too_much.json()["requested_minor"]) == (
            "refund_exceeds_total",
            total,
        )
        assert api.post(f"{path}/refund", {"amount_minor": 5}).status_code == 422
        rest = api.post(f"{path}/refund").json()
        assert (rest["status"], rest["refunded_minor"]) == ("refunded", total)
        assert balance() == 0
        shown = api.client.get(path, headers={"authorization": f"Bearer {api.server}"}).json()
        assert [r["points_reversed"] for r in shown["refunds"]] == [150, 150]

    def test_expected_offers_that_no_longer_apply_fail_the_reservation(self, api: Api) -> None:
        flash = api.offer(
            {"name": "flash", "kind": "automatic", "benefit": {"type": "sale_price", "price_minor": 1000},
             "items": {"skus": ["A"]}, "stock": 2}
        )  # fmt: skip
        body = {**CART, "expect_offers": [flash]}
        assert (
            api.post("/v1/checkout/reservations", body, **{"Idempotency-Key": "a"}).status_code
            == 201
        )
        sold_out = api.post("/v1/checkout/reservations", body, **{"Idempotency-Key": "b"})
        assert (sold_out.status_code, sold_out.json()["code"]) == (409, "flash_sale_sold_out")

    def test_the_admin_sweep_releases_expired_holds(self, api: Api) -> None:
        response = api.post("/v1/checkout/release-expired", None, api.admin)
        assert response.json() == {"released": 0}

    def test_wallet_lists_issued_coupons(self, api: Api) -> None:
        coupon = api.offer(
            {
                "name": "gift",
                "kind": "coupon",
                "benefit": {"type": "amount_off", "amount_minor": 800},
            }
        )
        issued = api.post(
            f"/v1/promotions/offers/{coupon}/issue", {"user_ids": ["u1"]}, api.admin
        ).json()
        wallet = api.client.get(
            "/v1/coupons/wallet/u1", headers={"authorization": f"Bearer {api.server}"}
        )
        assert [(c["code"], c["description"], c["uses_left"]) for c in wallet.json()] == [
            (issued["codes"][0], "8.00 USD off", 1)
        ]


class TestCodes:
    def test_a_disabled_code_stops_applying_and_can_be_enabled_again(self, api: Api) -> None:
        coupon = api.offer(
            {
                "name": "leaked",
                "kind": "coupon",
                "benefit": {"type": "amount_off", "amount_minor": 900},
            }
        )
        api.codes(coupon, {"code": "LEAKED", "max_uses": 1000})
        off = api.post("/v1/promotions/codes/leaked/status", {"status": "disabled"}, api.admin)
        assert (off.status_code, off.json()["status"]) == (200, "disabled")
        body = api.post("/v1/checkout/quote", {**CART, "codes": ["LEAKED"]}).json()
        assert [r["reason"]["code"] for r in body["rejected"]] == ["coupon_code_disabled"]
        api.post("/v1/promotions/codes/LEAKED/status", {"status": "active"}, api.admin)
        body = api.post("/v1/checkout/quote", {**CART, "codes": ["LEAKED"]}).json()
        assert body["discount_minor"] == 900
        shown = api.client.get(
            "/v1/promotions/codes/LEAKED", headers={"authorization": f"Bearer {api.admin}"}
        )
        assert (shown.json()["max_uses"], shown.json()["used_count"]) == (1000, 0)
