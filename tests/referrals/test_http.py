"""Referrals and group buys over HTTP: scopes, 201/200 replays, 409 problems with their data."""

from __future__ import annotations

from typing import Any

import pytest

from tenure.config import Settings
from tenure.storage.database import Database
from tests.serving import keyed_client


@pytest.fixture
def api(settings: Settings, database: Database) -> dict[str, Any]:
    """A client and one key per scope."""
    return keyed_client(settings, database)


def _post(api: dict[str, Any], path: str, body: Any = None, scope: str = "server") -> Any:
    return api["client"].post(path, json=body, headers=api["h"][scope])


def _code(api: dict[str, Any], user: str, **extra: str) -> str:
    response = _post(api, "/v1/referrals/codes", {"user_id": user, **extra})
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


def _config(api: dict[str, Any], **config: Any) -> None:
    response = api["client"].put(
        "/v1/referrals/config", json={"config": config}, headers=api["h"]["admin"]
    )
    assert response.status_code == 200, response.text


class TestScopes:
    def test_a_write_key_cannot_attribute_sign_ups(self, api: dict[str, Any]) -> None:
        response = _post(api, "/v1/referrals/signups", {"invitee_id": "b", "code": "X"}, "write")
        assert (response.status_code, response.json()["code"]) == (403, "scope_required")

    def test_a_server_key_cannot_review_or_change_the_program(self, api: dict[str, Any]) -> None:
        assert _post(api, "/v1/referrals/ref_x/approve", {}).status_code == 403
        response = api["client"].put(
            "/v1/referrals/config", json={"config": {}}, headers=api["h"]["server"]
        )
        assert response.status_code == 403


class TestCodesAndSignups:
    def test_the_code_comes_with_its_share_link(self, api: dict[str, Any]) -> None:
        _config(api, link_template="https://shop.test/join?ref={code}")
        code = _code(api, "alice")
        shown = api["client"].get(f"/v1/referrals/codes/{code}", headers=api["h"]["server"])
        assert shown.json()["link"] == f"https://shop.test/join?ref={code}"

    def test_a_sign_up_is_201_and_its_retry_200_with_the_same_referral(
        self, api: dict[str, Any]
    ) -> None:
        code = _code(api, "alice")
        first = _post(api, "/v1/referrals/signups", {"invitee_id": "bob", "code": code})
        again = _post(api, "/v1/referrals/signups", {"invitee_id": "bob", "code": code})
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]

    def test_self_referral_is_a_409_problem_with_its_code_and_data(
        self, api: dict[str, Any]
    ) -> None:
        code = _code(api, "alice")
        response = _post(api, "/v1/referrals/signups", {"invitee_id": "alice", "code": code})
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["code"], body["user_id"], body["referral_code"]) == (
            "referral_self_referral",
            "alice",
            code,
        )
        decisions = api["client"].get("/v1/referrals/decisions", headers=api["h"]["admin"])
        assert [(d["rule"], d["action"]) for d in decisions.json()] == [("self_referral", "reject")]

    def test_a_velocity_rejection_carries_the_limit_and_the_count(
        self, api: dict[str, Any]
    ) -> None:
        _config(api, velocity_max=1, velocity_window_hours=6)
        code = _code(api, "alice")
        _post(api, "/v1/referrals/signups", {"invitee_id": "b1", "code": code})
        response = _post(api, "/v1/referrals/signups", {"invitee_id": "b2", "code": code})
        body = response.json()
        assert (response.status_code, body["code"]) == (409, "referral_velocity_exceeded")
        assert (body["limit"], body["window_hours"], body["count"]) == (1, 6, 1)

    def test_an_invalid_program_is_rejected_naming_the_field(self, api: dict[str, Any]) -> None:
        response = api["client"].put(
            "/v1/referrals/config",
            json={"config": {"velocity_max": 0}},
            headers=api["h"]["admin"],
        )
        body = response.json()
        assert (response.status_code, body["code"], body["field"]) == (
            400,
            "referral_config_invalid",
            "velocity_max",
        )


class TestTheWholeLoop:
    def test_sign_up_order_window_review_and_approval(self, api: dict[str, Any]) -> None:
        _config(api, return_window_days=0)
        code = _code(api, "alice", device_id="phone-9")
        signup = _post(
            api,
            "/v1/referrals/signups",
            {"invitee_id": "bob", "code": code, "device_id": "phone-9"},
        ).json()
        assert signup["hold_reasons"] == ["same_device"]
        paid = _post(
            api,
            "/v1/referrals/orders",
            {"order_id": "o1", "user_id": "bob", "amount_minor": 4200, "currency": "USD",
             "paid_at": "2026-01-01T00:00:00Z"},
        ).json()  # fmt: skip
        assert (paid["qualifies"], paid["reason"]) == (True, "qualifying")
        due = _post(api, "/v1/referrals/jobs/run-due", None, "admin").json()
        assert (due["rewarded"], due["held"]) == (0, 1)
        queue = api["client"].get("/v1/referrals?status=held", headers=api["h"]["admin"]).json()
        assert [r["invitee_id"] for r in queue] == ["bob"]
        approved = _post(
            api, f"/v1/referrals/{signup['id']}/approve", {"reviewer": "ops", "note": "ok"}, "admin"
        )
        assert approved.json()["status"] == "rewarded"
        detail = api["client"].get(f"/v1/referrals/{signup['id']}", headers=api["h"]["server"])
        assert sorted((r["side"], r["points"]) for r in detail.json()["rewards"]) == [
            ("invitee", 200),
            ("referrer", 500),
        ]
        points = api["client"].get("/v1/loyalty/accounts/alice", headers=api["h"]["server"])
        assert points.json()["balances"]["available"] == 500

    def test_an_order_in_another_currency_is_a_409(self, api: dict[str, Any]) -> None:
        code = _code(api, "alice")
        _post(api, "/v1/referrals/signups", {"invitee_id": "bob", "code": code})
        response = _post(
            api,
            "/v1/referrals/orders",
            {"order_id": "o1", "user_id": "bob", "amount_minor": 10, "currency": "EUR"},
        )
        body = response.json()
        assert (response.status_code, body["code"], body["expected"]) == (
            409,
            "referral_currency_mismatch",
            "USD",
        )


class TestRefunds:
    def _rewarded(self, api: dict[str, Any]) -> str:
        _config(api, return_window_days=0, referrer={"points": 500}, invitee={"points": 200})
        code = _code(api, "alice")
        signup = _post(api, "/v1/referrals/signups", {"invitee_id": "bob", "code": code}).json()
        _post(
            api,
            "/v1/referrals/orders",
            {"order_id": "o1", "user_id": "bob", "amount_minor": 4200, "currency": "USD",
             "paid_at": "2026-01-01T00:00:00Z"},
        )  # fmt: skip
        assert _post(api, "/v1/referrals/jobs/run-due", None, "admin").json()["rewarded"] == 1
        return str(signup["id"])

    def _balance(self, api: dict[str, Any], user: str) -> int:
        found = api["client"].get(f"/v1/loyalty/accounts/{user}", headers=api["h"]["server"])
        return int(found.json()["balances"]["available"])

    def test_a_late_refund_claws_back_both_rewards_and_says_so_per_reward(
        self, api: dict[str, Any]
    ) -> None:
        referral_id = self._rewarded(api)
        assert (self._balance(api, "alice"), self._balance(api, "bob")) == (500, 200)
        first = _post(api, "/v1/referrals/orders/o1/refunds", {"reason": "cancelled"})
        assert (first.status_code, first.json()["status"]) == (200, "reversed")
        again = _post(api, "/v1/referrals/orders/o1/refunds")
        assert (again.status_code, again.json()["status"]) == (200, "reversed")
        assert (self._balance(api, "alice"), self._balance(api, "bob")) == (0, 0)
        detail = api["client"].get(f"/v1/referrals/{referral_id}", headers=api["h"]["server"])
        assert sorted(
            (r["side"], r["status"], r["reason"], r["points_reversed"], r["points_shortfall"])
            for r in detail.json()["rewards"]
        ) == [
            ("invitee", "reversed", "order_cancelled", 200, 0),
            ("referrer", "reversed", "order_cancelled", 500, 0),
        ]
        listed = api["client"].get("/v1/referrals?status=reversed", headers=api["h"]["admin"])
        assert [r["id"] for r in listed.json()] == [referral_id]

    def test_a_partial_refund_above_the_minimum_keeps_the_rewards(
        self, api: dict[str, Any]
    ) -> None:
        self._rewarded(api)  # a 42.00 order, rewarded
        part = _post(api, "/v1/referrals/orders/o1/refunds", {"refunded_total_minor": 1200})
        assert part.status_code == 200
        assert (part.json()["status"], part.json()["order_refunded_minor"]) == ("rewarded", 1200)
        assert (self._balance(api, "alice"), self._balance(api, "bob")) == (500, 200)
        whole = _post(api, "/v1/referrals/orders/o1/refunds", {"refunded_total_minor": 4200})
        assert whole.json()["status"] == "reversed"
        assert (self._balance(api, "alice"), self._balance(api, "bob")) == (0, 0)
        assert (
            _post(api, "/v1/referrals/orders/o1/refunds", {"refunded_total_minor": 0}).status_code
            == 422
        )

    def test_an_unknown_order_is_a_404_problem_and_an_unknown_reason_a_422(
        self, api: dict[str, Any]
    ) -> None:
        missing = _post(api, "/v1/referrals/orders/nope/refunds")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert (missing.json()["code"], missing.json()["order_id"]) == (
            "referral_order_not_found",
            "nope",
        )
        bad = _post(api, "/v1/referrals/orders/nope/refunds", {"reason": "lost"})
        assert bad.status_code == 422

    def test_a_write_key_cannot_report_refunds(self, api: dict[str, Any]) -> None:
        response = _post(api, "/v1/referrals/orders/o1/refunds", None, "write")
        assert response.status_code == 403


class TestGroupBuys:
    def _open(self, api: dict[str, Any], size: int = 2) -> dict[str, Any]:
        body = {"sku": "tea", "group_price_minor": 990, "currency": "USD", "size": size,
                "hours": 24, "leader_id": "lead", "hold_ref": "pay-1"}  # fmt: skip
        response = _post(api, "/v1/referrals/group-buys", body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def test_a_full_group_completes_and_a_late_joiner_gets_a_409(self, api: dict[str, Any]) -> None:
        gid = self._open(api)["group"]["id"]
        joined = _post(api, f"/v1/referrals/group-buys/{gid}/members", {"user_id": "u1"})
        assert (joined.status_code, joined.json()["group"]["status"]) == (201, "completed")
        late = _post(api, f"/v1/referrals/group-buys/{gid}/members", {"user_id": "u2"})
        body = late.json()
        assert (late.status_code, body["code"], body["group_status"]) == (
            409,
            "group_closed",
            "completed",
        )
        shown = api["client"].get(f"/v1/referrals/group-buys/{gid}", headers=api["h"]["server"])
        assert [(m["user_id"], m["status"]) for m in shown.json()["member_list"]] == [
            ("lead", "captured"),
            ("u1", "captured"),
        ]

    def test_a_size_below_two_is_a_malformed_payload(self, api: dict[str, Any]) -> None:
        body = {"sku": "tea", "group_price_minor": 990, "currency": "USD", "size": 1,
                "hours": 24, "leader_id": "lead"}  # fmt: skip
        response = _post(api, "/v1/referrals/group-buys", body)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")

    def test_an_unknown_group_is_a_404_problem(self, api: dict[str, Any]) -> None:
        response = _post(api, "/v1/referrals/group-buys/grp_nope/members", {"user_id": "u1"})
        assert (response.status_code, response.json()["code"]) == (404, "group_not_found")


class TestProgramVersions:
    def test_saving_over_a_newer_version_is_a_409_with_both_versions(
        self, api: dict[str, Any]
    ) -> None:
        _config(api, velocity_max=5)
        stale = api["client"].put(
            "/v1/referrals/config",
            json={"config": {"velocity_max": 6}, "expected_version": 0},
            headers=api["h"]["admin"],
        )
        body = stale.json()
        assert (stale.status_code, body["code"], body["current"], body["expected"]) == (
            409,
            "referral_config_version_conflict",
            1,
            0,
        )
        shown = api["client"].get("/v1/referrals/config", headers=api["h"]["admin"]).json()
        assert (shown["version"], shown["config"]["velocity_max"]) == (1, 5)


class TestLeavingOverHttp:
    def test_a_member_leaves_an_open_group_with_a_delete(self, api: dict[str, Any]) -> None:
        body = {"sku": "tea", "group_price_minor": 990, "currency": "USD", "size": 3,
                "hours": 24, "leader_id": "lead"}  # fmt: skip
        gid = _post(api, "/v1/referrals/group-buys", body).json()["group"]["id"]
        _post(api, f"/v1/referrals/group-buys/{gid}/members", {"user_id": "u1"})
        left = api["client"].delete(
            f"/v1/referrals/group-buys/{gid}/members/u1", headers=api["h"]["server"]
        )
        assert (left.status_code, left.json()["status"]) == (200, "refunded")
        shown = api["client"].get(f"/v1/referrals/group-buys/{gid}", headers=api["h"]["server"])
        assert shown.json()["members"] == 1


class TestReferrerProgress:
    def test_the_invite_page_counts_friends_per_status_and_the_points_earned(
        self, api: dict[str, Any]
    ) -> None:
        _config(api, return_window_days=0, link_template="https://s.test/r/{code}")
        code = _code(api, "alice")
        for friend in ("b1", "b2", "b3"):
            _post(api, "/v1/referrals/signups", {"invitee_id": friend, "code": code})
        for friend in ("b1", "b2"):
            _post(
                api,
                "/v1/referrals/orders",
                {"order_id": f"o-{friend}", "user_id": friend, "amount_minor": 100,
                 "currency": "USD", "paid_at": "2026-01-01T00:00:00Z"},
            )  # fmt: skip
        _post(api, "/v1/referrals/jobs/run-due", None, "admin")
        page = api["client"].get("/v1/referrals/referrers/alice", headers=api["h"]["server"])
        assert page.json() == {
            "user_id": "alice",
            "code": code,
            "link": f"https://s.test/r/{code}",
            "by_status": {"pending": 1, "rewarded": 2},
            "points_earned": 1000,
            "coupons_earned": [],
            "capped": 0,
        }

    def test_a_customer_without_a_code_has_an_empty_page(self, api: dict[str, Any]) -> None:
        page = api["client"].get("/v1/referrals/referrers/nobody", headers=api["h"]["server"])
        assert (page.json()["code"], page.json()["by_status"]) == (None, {})
