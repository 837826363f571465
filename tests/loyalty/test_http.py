"""Loyalty over HTTP: scopes, problem+json rejections with their data, idempotency keys."""

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


def _program(api: dict[str, Any], **config: Any) -> None:
    body = {"config": {"actions": {}, "return_window_days": 0, **config}, "note": "test"}
    response = api["client"].put("/v1/loyalty/program", json=body, headers=api["h"]["admin"])
    assert response.status_code == 200, response.text


def _adjust(api: dict[str, Any], user: str, amount: int, key: str) -> Any:
    return api["client"].post(
        f"/v1/loyalty/accounts/{user}/adjustments",
        json={"points": amount, "reason": "goodwill"},
        headers={**api["h"]["admin"], "Idempotency-Key": key},
    )


class TestScopes:
    def test_a_write_key_cannot_touch_points(self, api: dict[str, Any]) -> None:
        response = api["client"].get("/v1/loyalty/accounts/u1", headers=api["h"]["write"])
        assert (response.status_code, response.json()["code"]) == (403, "scope_required")

    def test_a_server_key_cannot_adjust_points_or_edit_the_program(
        self, api: dict[str, Any]
    ) -> None:
        c, server = api["client"], api["h"]["server"]
        assert c.get("/v1/loyalty/program", headers=server).status_code == 403
        response = c.post(
            "/v1/loyalty/accounts/u1/adjustments",
            json={"points": 5, "reason": "x", "idempotency_key": "k"},
            headers=server,
        )
        assert response.status_code == 403


class TestRejections:
    def test_spending_too_much_is_a_409_problem_with_balance_and_requested(
        self, api: dict[str, Any]
    ) -> None:
        _program(api)
        assert _adjust(api, "u1", 300, "g1").json()["balance"] == 300
        response = api["client"].post(
            "/v1/loyalty/accounts/u1/spend",
            json={"points": 500},
            headers={**api["h"]["server"], "Idempotency-Key": "s1"},
        )
        body = response.json()
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert (body["code"], body["balance"], body["requested"]) == (
            "points_insufficient",
            300,
            500,
        )
        assert "300" in body["detail"]

    def test_a_mutation_without_an_idempotency_key_is_a_400(self, api: dict[str, Any]) -> None:
        _program(api)
        response = api["client"].post(
            "/v1/loyalty/accounts/u1/spend", json={"points": 1}, headers=api["h"]["server"]
        )
        assert (response.status_code, response.json()["code"]) == (400, "idempotency_key_required")

    def test_a_paid_at_without_a_utc_offset_is_malformed(self, api: dict[str, Any]) -> None:
        _program(api)
        response = api["client"].post(
            "/v1/loyalty/orders",
            json={
                "order_id": "o1",
                "user_id": "u1",
                "amount_minor": 100,
                "currency": "USD",
                "paid_at": "2026-03-01T10:00:00",
            },
            headers=api["h"]["server"],
        )
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")

    def test_an_invalid_program_is_refused_and_names_the_field(self, api: dict[str, Any]) -> None:
        response = api["client"].put(
            "/v1/loyalty/program",
            json={"config": {"max_redeem_share_bps": 20_000}},
            headers=api["h"]["admin"],
        )
        body = response.json()
        assert (response.status_code, body["code"], body["field"]) == (
            400, "loyalty_program_invalid", "max_redeem_share_bps",
        )  # fmt: skip

    def test_saving_over_a_newer_program_version_is_a_409(self, api: dict[str, Any]) -> None:
        _program(api)
        c, admin = api["client"], api["h"]["admin"]
        stale = {"config": {}, "expected_version": 0}
        response = c.put("/v1/loyalty/program", json=stale, headers=admin)
        assert (response.status_code, response.json()["current"]) == (409, 1)


class TestIdempotencyOverHttp:
    def test_a_replay_returns_the_first_body_and_says_so(self, api: dict[str, Any]) -> None:
        _program(api)
        first = _adjust(api, "u1", 300, "g1")
        again = _adjust(api, "u1", 300, "g1")
        assert again.json()["id"] == first.json()["id"]
        assert (again.json()["balance"], again.headers["idempotent-replayed"]) == (300, "true")
        summary = api["client"].get("/v1/loyalty/accounts/u1", headers=api["h"]["server"]).json()
        assert summary["balances"] == {"available": 300, "pending": 0, "reserved": 0}


class TestCheckoutOverHttp:
    def test_quote_redeem_and_confirm(self, api: dict[str, Any]) -> None:
        _program(api, max_redeem_share_bps=5_000)
        _adjust(api, "u1", 8_000, "g1")
        c, server = api["client"], api["h"]["server"]
        order = {"user_id": "u1", "order_minor": 10_000, "currency": "USD"}
        quote = c.post("/v1/loyalty/checkout/quote", json=order, headers=server).json()
        assert (quote["points"], quote["discount_minor"], quote["limited_by"]) == (
            5_000,
            5_000,
            None,
        )
        held = c.post(
            "/v1/loyalty/checkout/redeem",
            json={**order, "points": 5_000},
            headers={**server, "Idempotency-Key": "cart-1"},
        ).json()
        assert (held["status"], held["discount_minor"]) == ("reserved", 5_000)
        done = c.post(
            f"/v1/loyalty/redemptions/{held['id']}/confirm", json={"order_id": "o1"}, headers=server
        ).json()
        assert (done["status"], done["order_id"]) == ("confirmed", "o1")
        balances = c.get("/v1/loyalty/accounts/u1", headers=server).json()["balances"]
        assert balances == {"available": 3_000, "pending": 0, "reserved": 0}

    def test_an_unknown_redemption_is_a_404(self, api: dict[str, Any]) -> None:
        response = api["client"].post(
            "/v1/loyalty/redemptions/rdm_nope/release", headers=api["h"]["server"]
        )
        assert (response.status_code, response.json()["code"]) == (404, "redemption_not_found")


class TestOrdersAndEngagementOverHttp:
    def test_order_refund_checkin_task_and_liability(self, api: dict[str, Any]) -> None:
        _program(api, tasks={"complete_profile": {"title": "Profile", "points": 50}})
        c, server, admin = api["client"], api["h"]["server"], api["h"]["admin"]
        paid = c.post(
            "/v1/loyalty/orders",
            json={"order_id": "o1", "user_id": "u1", "amount_minor": 20_000, "currency": "USD"},
            headers=server,
        ).json()
        assert (paid["points"], paid["pending"], paid["tier"]) == (200, False, "member")
        refund = c.post(
            "/v1/loyalty/orders/o1/refunds",
            json={"refund_id": "r1", "amount_minor": 5_000},
            headers=server,
        ).json()
        assert (refund["points"], refund["balance"]) == (-50, 150)
        assert c.post("/v1/loyalty/accounts/u1/checkins", headers=server).status_code == 200
        second = c.post("/v1/loyalty/accounts/u1/checkins", headers=server)
        assert (second.status_code, second.json()["code"]) == (409, "checkin_already_done")
        task = c.post("/v1/loyalty/accounts/u1/tasks/complete_profile", headers=server)
        assert task.json()["points"] == 50
        owed = c.get("/v1/loyalty/liability", headers=admin).json()
        assert owed["outstanding"] == 150 + 5 + 50

    def test_loyalty_paths_are_in_the_openapi_document(self, api: dict[str, Any]) -> None:
        paths = api["client"].get("/openapi.json").json()["paths"]
        assert {"/v1/loyalty/checkout/redeem", "/v1/loyalty/orders", "/v1/loyalty/program"} <= set(
            paths
        )


class TestEveryEndpointAnswers:
    def test_membership_tasks_calendar_history_rewards_notices_and_jobs(
        self, api: dict[str, Any]
    ) -> None:
        _program(
            api,
            plans={"plus": {"name": "Plus", "price_minor": 990, "free_shipping": True}},
            tasks={"invite_friend": {"title": "Invite", "points": 100}},
            actions={"review": {"points": 20, "max_per_day": 1}},
        )
        c, server, admin = api["client"], api["h"]["server"], api["h"]["admin"]
        base = "/v1/loyalty"

        def ok(response: Any) -> Any:
            assert response.status_code == 200, response.text
            return response.json()

        member = ok(
            c.post(
                f"{base}/accounts/u1/membership",
                json={"plan": "plus", "payment_ref": "pay-1"},
                headers=server,
            )
        )
        assert (member["plan"], member["status"]["active"]) == ("plus", True)
        assert ok(c.get(f"{base}/accounts/u1/benefits", headers=server))["free_shipping"] is True
        assert ok(c.delete(f"{base}/accounts/u1/membership", headers=server))["cancelled"] is True
        earned = ok(
            c.post(
                f"{base}/accounts/u1/actions",
                json={"action": "review", "reference": "rev-1"},
                headers={**server, "Idempotency-Key": "rev-1"},
            )
        )
        assert earned["points"] == 20
        capped = c.post(
            f"{base}/accounts/u1/actions",
            json={"action": "review"},
            headers={**server, "Idempotency-Key": "rev-2"},
        )
        assert (capped.status_code, capped.json()["cap"]) == (409, 1)
        tasks = ok(c.get(f"{base}/accounts/u1/tasks", headers=server))
        assert [(t["code"], t["completed_at"]) for t in tasks] == [("invite_friend", None)]
        ok(c.post(f"{base}/accounts/u1/checkins", headers=server))
        calendar = ok(c.get(f"{base}/accounts/u1/checkins", headers=server))
        assert (calendar["streak"], calendar["checked_in_today"]) == (1, True)
        ok(c.put(f"{base}/accounts/u1/tier", json={"tier": "gold"}, headers=admin))
        history = ok(c.get(f"{base}/accounts/u1/tier-history", headers=server))
        assert (history[0]["kind"], history[0]["to"]) == ("manual", "gold")
        ledger = ok(c.get(f"{base}/accounts/u1/transactions?limit=10", headers=server))
        assert [t["reason"] for t in ledger] == ["checkin", "action:review"]
        reward = {"name": "Mug", "points_cost": 10, "stock": 3}
        assert ok(c.put(f"{base}/rewards/mug", json=reward, headers=admin))["stock"] == 3
        assert [r["code"] for r in ok(c.get(f"{base}/rewards", headers=server))] == ["mug"]
        claim = ok(
            c.post(
                f"{base}/rewards/mug/claims",
                json={"user_id": "u1"},
                headers={**server, "Idempotency-Key": "claim-1"},
            )
        )
        assert (claim["points"], claim["reward"]["stock"]) == (10, 2)
        assert ok(c.get(f"{base}/expiry-notices", headers=server)) == []
        assert set(ok(c.post(f"{base}/jobs/run-due", headers=admin))) == {
            "confirmed", "expired", "reminded", "released", "tiers_changed",
        }  # fmt: skip
        versions = ok(c.get(f"{base}/program/versions", headers=admin))
        assert [v["version"] for v in versions] == [1]
