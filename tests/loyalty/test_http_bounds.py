"""What the database cannot hold is a 422 naming the field, or a 409 for a balance past its
bound, on SQLite and PostgreSQL alike, and nothing is written (issue 11: these were 500s)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tenure.config import Settings
from tenure.kit.bounds import BALANCE_MAX, POINTS_MAX
from tenure.kit.time import utc_now
from tenure.loyalty import points
from tenure.loyalty.models import Account, Checkin, Order, Reward, Transaction
from tenure.loyalty.program import current_program
from tenure.storage.database import Database
from tests.problems import assert_invalid
from tests.serving import keyed_client


@pytest.fixture
def api(settings: Settings, database: Database) -> dict[str, Any]:
    """A client and one key per scope, on a program without return window."""
    out = keyed_client(settings, database)
    body = {"config": {"actions": {}, "return_window_days": 0}, "note": "test"}
    response = out["client"].put("/v1/loyalty/program", json=body, headers=out["h"]["admin"])
    assert response.status_code == 200, response.text
    return {**out, "database": database}


def _rows(api: dict[str, Any], model: type) -> int:
    database: Database = api["database"]
    return int(database.read(lambda s: s.scalar(select(func.count()).select_from(model))))


def _adjust(api: dict[str, Any], user: str, amount: int, key: str) -> Any:
    return api["client"].post(
        f"/v1/loyalty/accounts/{user}/adjustments",
        json={"points": amount, "reason": "goodwill"},
        headers={**api["h"]["admin"], "Idempotency-Key": key},
    )


def _checkin(api: dict[str, Any], user: str) -> Any:
    return api["client"].post(f"/v1/loyalty/accounts/{user}/checkins", headers=api["h"]["server"])


class TestUserIds:
    def test_a_100_character_user_id_checks_in(self, api: dict[str, Any]) -> None:
        # PostgreSQL refused it: the check-in's key, user id included, was its own fingerprint in
        # a varchar(64) column.
        response = _checkin(api, "u" * 100)
        assert response.status_code == 200, response.text
        assert response.json()["user_id"] == "u" * 100

    def test_a_user_id_longer_than_its_column_is_refused(self, api: dict[str, Any]) -> None:
        assert_invalid(_checkin(api, "u" * 201), "path", "user_id")
        assert (_rows(api, Account), _rows(api, Checkin)) == (0, 0)

    def test_a_nul_in_a_user_id_is_refused(self, api: dict[str, Any]) -> None:
        assert_invalid(_checkin(api, "u%00x"), "path", "user_id")
        assert_invalid(_adjust(api, "u%00x", 5, "k1"), "path", "user_id")
        response = api["client"].post(
            "/v1/loyalty/orders",
            json={"order_id": "o1", "user_id": "u\x001", "amount_minor": 100, "currency": "USD"},
            headers=api["h"]["server"],
        )
        assert_invalid(response, "body", "user_id")
        assert (_rows(api, Account), _rows(api, Transaction), _rows(api, Order)) == (0, 0, 0)


class TestRewards:
    def _put(self, api: dict[str, Any], code: str, **body: Any) -> Any:
        return api["client"].put(
            f"/v1/loyalty/rewards/{code}",
            json={"name": "Mug", "points_cost": 100, **body},
            headers=api["h"]["admin"],
        )

    def test_a_reward_code_longer_than_its_column_is_refused(self, api: dict[str, Any]) -> None:
        assert_invalid(self._put(api, "r" * 61), "path", "code")
        assert self._put(api, "r" * 60).status_code == 200
        assert _rows(api, Reward) == 1

    def test_a_nul_in_a_reward_code_or_name_is_refused(self, api: dict[str, Any]) -> None:
        assert_invalid(self._put(api, "mug%00"), "path", "code")
        assert_invalid(self._put(api, "mug", name="Mug\x00"), "body", "name")
        assert _rows(api, Reward) == 0

    def test_stock_and_price_beyond_their_columns_are_refused(self, api: dict[str, Any]) -> None:
        assert_invalid(self._put(api, "mug", stock=2**31), "body", "stock")
        assert_invalid(self._put(api, "mug", points_cost=2**63), "body", "points_cost")
        assert _rows(api, Reward) == 0
        assert self._put(api, "mug", stock=2**31 - 1).json()["stock"] == 2**31 - 1


class TestLedgerBounds:
    def test_an_adjustment_of_2_62_is_refused_and_so_is_the_next(self, api: dict[str, Any]) -> None:
        # Before: the first was accepted, and the second overflowed int64 (a 500).
        assert_invalid(_adjust(api, "u1", 2**62, "a1"), "body", "points")
        assert_invalid(_adjust(api, "u1", 2**62, "a2"), "body", "points")
        assert_invalid(_adjust(api, "u1", -(2**62), "a3"), "body", "points")
        assert _rows(api, Transaction) == 0
        assert _adjust(api, "u1", POINTS_MAX, "a4").json()["balance"] == POINTS_MAX

    def test_a_posting_past_the_balance_bound_is_a_409_and_changes_nothing(
        self, api: dict[str, Any]
    ) -> None:
        database: Database = api["database"]
        database.write(
            lambda s: points.adjust(
                s, current_program(s)[1], "u1", BALANCE_MAX - 10, "seed", "seed", utc_now()
            )
        )
        response = _adjust(api, "u1", 11, "over")
        body = response.json()
        assert (response.status_code, response.headers["content-type"]) == (
            409, "application/problem+json",
        )  # fmt: skip
        assert (body["code"], body["balance"], body["requested"], body["limit"]) == (
            "points_balance_limit", BALANCE_MAX - 10, 11, BALANCE_MAX,
        )  # fmt: skip
        assert _rows(api, Transaction) == 1
        assert _adjust(api, "u1", 10, "fill").json()["balance"] == BALANCE_MAX
        assert _adjust(api, "u1", -5, "less").json()["balance"] == BALANCE_MAX - 5

    def test_an_order_that_would_earn_past_the_bound_is_a_409(self, api: dict[str, Any]) -> None:
        c, admin = api["client"], api["h"]["admin"]
        program = {"config": {"actions": {}, "earn_points_per_unit": 10**9}}
        assert c.put("/v1/loyalty/program", json=program, headers=admin).status_code == 200
        order = {"order_id": "o1", "user_id": "u1", "amount_minor": 10**15, "currency": "USD"}
        response = c.post("/v1/loyalty/orders", json=order, headers=api["h"]["server"])
        assert (response.status_code, response.json()["code"]) == (409, "points_balance_limit")
        assert (_rows(api, Order), _rows(api, Transaction)) == (0, 0)

    def test_amounts_beyond_what_money_may_be_are_refused(self, api: dict[str, Any]) -> None:
        order = {"order_id": "o1", "user_id": "u1", "amount_minor": 2**63, "currency": "USD"}
        response = api["client"].post("/v1/loyalty/orders", json=order, headers=api["h"]["server"])
        assert_invalid(response, "body", "amount_minor")
        spend = api["client"].post(
            "/v1/loyalty/accounts/u1/spend",
            json={"points": 2**63},
            headers={**api["h"]["server"], "Idempotency-Key": "s1"},
        )
        assert_invalid(spend, "body", "points")
        assert _rows(api, Order) == 0

    def test_a_paid_at_that_cannot_be_shifted_to_utc_is_refused(self, api: dict[str, Any]) -> None:
        # Year 1 at +10:00 is before year 1 in UTC: converting it raised OverflowError (a 500).
        order = {
            "order_id": "o1", "user_id": "u1", "amount_minor": 100, "currency": "USD",
            "paid_at": "0001-01-01T00:00:00+10:00",
        }  # fmt: skip
        response = api["client"].post("/v1/loyalty/orders", json=order, headers=api["h"]["server"])
        assert_invalid(response, "body", "paid_at")
        assert _rows(api, Order) == 0


class TestProgramBounds:
    @pytest.mark.parametrize(
        ("config", "field"),
        [
            ({"checkin_ladder": [5, 2**31]}, "checkin_ladder.1"),
            ({"tasks": {"review": {"title": "Review", "points": 2**31}}}, "tasks.review.points"),
            ({"expiry_days": 10**9}, "expiry_days"),
            ({"reservation_minutes": 10**12}, "reservation_minutes"),
            ({"actions": {"a" * 61: {"points": 1}}}, "actions." + "a" * 61),
            ({"actions": {"x\x00": {"points": 1}}}, "actions.x\x00"),
        ],
    )
    def test_a_program_its_columns_cannot_hold_is_refused_and_the_live_one_stays(
        self, api: dict[str, Any], config: dict[str, Any], field: str
    ) -> None:
        # Saved, these broke later requests: a check-in of 2^31 points overflowed the Integer
        # column on PostgreSQL only, and 10^9 expiry days overflowed every earn's date.
        c, admin = api["client"], api["h"]["admin"]
        response = c.put("/v1/loyalty/program", json={"config": config}, headers=admin)
        body = response.json()
        assert (response.status_code, body["code"], body["field"]) == (
            400, "loyalty_program_invalid", field,
        )  # fmt: skip
        assert c.get("/v1/loyalty/program", headers=admin).json()["version"] == 1
        assert _checkin(api, "u1").json()["points"] == 5
