"""Referrals and group buys the database cannot hold are a 422 naming the field, on SQLite and
PostgreSQL alike, and nothing is written (issue 11: these were 500s)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tenure.config import Settings
from tenure.referrals.models import GroupBuy, Referral, ReferralCode
from tenure.storage.database import Database
from tests.problems import assert_invalid
from tests.serving import keyed_client

GROUP = {
    "sku": "SKU-1",
    "group_price_minor": 1990,
    "currency": "USD",
    "size": 3,
    "hours": 24,
    "leader_id": "leader",
}


@pytest.fixture
def api(settings: Settings, database: Database) -> dict[str, Any]:
    """A client and one key per scope."""
    return {**keyed_client(settings, database), "database": database}


def _post(api: dict[str, Any], path: str, body: Any = None, scope: str = "server") -> Any:
    return api["client"].post(path, json=body, headers=api["h"][scope])


def _get(api: dict[str, Any], path: str, scope: str = "server") -> Any:
    return api["client"].get(path, headers=api["h"][scope])


def _rows(api: dict[str, Any], model: type) -> int:
    database: Database = api["database"]
    return int(database.read(lambda s: s.scalar(select(func.count()).select_from(model))))


class TestGroupBuys:
    def test_a_group_price_beyond_its_integer_column_is_refused(self, api: dict[str, Any]) -> None:
        response = _post(api, "/v1/referrals/group-buys", {**GROUP, "group_price_minor": 2**31})
        assert_invalid(response, "body", "group_price_minor")
        assert _rows(api, GroupBuy) == 0
        top = {**GROUP, "group_price_minor": 2**31 - 1}
        assert _post(api, "/v1/referrals/group-buys", top).status_code == 201

    @pytest.mark.parametrize("field", ["sku", "leader_id", "hold_ref", "currency"])
    def test_a_nul_in_a_group_field_is_refused(self, api: dict[str, Any], field: str) -> None:
        body = {**GROUP, field: "US\x00" if field == "currency" else "x\x00y"}
        assert_invalid(_post(api, "/v1/referrals/group-buys", body), "body", field)
        assert _rows(api, GroupBuy) == 0

    def test_a_nul_in_a_joining_member_or_group_id_is_refused(self, api: dict[str, Any]) -> None:
        opened = _post(api, "/v1/referrals/group-buys", GROUP).json()["group"]["id"]
        response = _post(api, f"/v1/referrals/group-buys/{opened}/members", {"user_id": "m\x00"})
        assert_invalid(response, "body", "user_id")
        response = _post(api, "/v1/referrals/group-buys/grp%00/members", {"user_id": "m"})
        assert_invalid(response, "path", "group_id")
        assert _get(api, f"/v1/referrals/group-buys/{opened}").json()["members"] == 1

    def test_an_offset_past_int64_is_refused(self, api: dict[str, Any]) -> None:
        response = _get(api, f"/v1/referrals/group-buys?offset={2**63}")
        assert_invalid(response, "query", "offset")
        assert _get(api, "/v1/referrals/group-buys?offset=0").json() == []


class TestReferrals:
    def test_an_offset_past_int64_is_refused(self, api: dict[str, Any]) -> None:
        assert_invalid(_get(api, f"/v1/referrals?offset={2**63}", "admin"), "query", "offset")

    def test_a_nul_or_an_over_long_user_id_is_refused(self, api: dict[str, Any]) -> None:
        assert_invalid(_post(api, "/v1/referrals/codes", {"user_id": "a\x00"}), "body", "user_id")
        response = _post(api, "/v1/referrals/codes", {"user_id": "a" * 201})
        assert_invalid(response, "body", "user_id")
        assert_invalid(_get(api, "/v1/referrals/referrers/a%00"), "path", "user_id")
        assert _rows(api, ReferralCode) == 0

    def test_a_nul_in_a_sign_up_is_refused(self, api: dict[str, Any]) -> None:
        code = _post(api, "/v1/referrals/codes", {"user_id": "alice"}).json()["code"]
        response = _post(api, "/v1/referrals/signups", {"invitee_id": "b\x00", "code": code})
        assert_invalid(response, "body", "invitee_id")
        response = _post(api, "/v1/referrals/signups", {"invitee_id": "b", "code": "X\x00"})
        assert_invalid(response, "body", "code")
        assert_invalid(_get(api, "/v1/referrals/codes/X%00"), "path", "code")
        assert _rows(api, Referral) == 0

    def test_an_order_amount_beyond_what_money_may_be_is_refused(self, api: dict[str, Any]) -> None:
        order = {"order_id": "o1", "user_id": "b", "amount_minor": 2**63, "currency": "USD"}
        assert_invalid(_post(api, "/v1/referrals/orders", order), "body", "amount_minor")
        response = _post(api, "/v1/referrals/orders/o%001/refunds", None)
        assert_invalid(response, "path", "order_id")


class TestProgramBounds:
    @pytest.mark.parametrize(
        ("config", "field"),
        [
            ({"referrer": {"points": 2**31}}, "referrer.points"),
            ({"invitee": {"points": 0, "coupon_offer_id": "off\x00"}}, "invitee.coupon_offer_id"),
            ({"return_window_days": 10**9}, "return_window_days"),
            ({"velocity_window_hours": 10**12}, "velocity_window_hours"),
        ],
    )
    def test_a_program_its_columns_cannot_hold_is_refused(
        self, api: dict[str, Any], config: dict[str, Any], field: str
    ) -> None:
        response = api["client"].put(
            "/v1/referrals/config", json={"config": config}, headers=api["h"]["admin"]
        )
        body = response.json()
        assert (response.status_code, body["code"], body["field"]) == (
            400, "referral_config_invalid", field,
        )  # fmt: skip
        shown = api["client"].get("/v1/referrals/config", headers=api["h"]["admin"]).json()
        assert shown["version"] == 0
