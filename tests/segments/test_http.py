"""The HTTP API: RFM, lifecycle, segments, tags and transitions, with scopes and problem+json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.storage.database import Database
from tests.segments.builders import build_shop


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> TestClient:
    build_shop(tmp_path)
    settings = Settings(home=tmp_path, database_url=database_url, inbox_flush_seconds=0)
    Database(settings.sqlalchemy_url).upgrade()
    return TestClient(create_app(settings))


def key(client: TestClient, scope: str) -> dict[str, str]:
    with client.app.state.database.session() as session:  # type: ignore[attr-defined]
        return {"authorization": f"Bearer {create_key(session, scope, [scope]).secret}"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


class TestAnalysesOverHttp:
    def test_rfm_returns_the_distribution_and_saves_scores(self, client: TestClient) -> None:
        admin = key(client, "admin")
        body = ok(
            client.post("/v1/rfm", json={"save": True, "compare_to": "2023-12-31"}, headers=admin)
        )
        assert body["customers"] == 8 and body["scored"] == 8
        assert {s["segment"]: s["users"] for s in body["segments"]}["Lost"] == 2
        assert sum(t["users"] for t in body["transitions"]) == 8

    def test_lifecycle_as_of_before_any_order_has_no_customers(self, client: TestClient) -> None:
        # Found by fuzzing: a division by zero answered 500.
        body = ok(
            client.post("/v1/lifecycle", json={"as_of": "2000-01-01"}, headers=key(client, "admin"))
        )
        assert body["result"]["customers"] == 0
        assert {s["share"] for s in body["result"]["stages"]} == {0.0}

    def test_lifecycle_records_transitions_campaigns_can_poll(self, client: TestClient) -> None:
        admin, server = key(client, "admin"), key(client, "server")
        ok(client.post("/v1/lifecycle", json={"save": True}, headers=admin))
        body = ok(
            client.post("/v1/lifecycle", json={"save": True, "as_of": "2024-07-15"}, headers=admin)
        )
        assert body["transitions"] == 8
        entered = ok(
            client.get(
                "/v1/lifecycle/transitions",
                params={"to_stage": "at_risk", "since": "2024-04-01"},
                headers=server,
            )
        )
        assert sorted(t["user_id"] for t in entered) == ["u1", "u2", "u3", "u6", "u7", "u8"]
        after = entered[2]["id"]
        rest = ok(
            client.get(
                "/v1/lifecycle/transitions",
                params={"to_stage": "at_risk", "since": "2024-04-01", "after_id": after},
                headers=server,
            )
        )
        assert len(rest) == 3

    def test_analyses_need_the_admin_scope(self, client: TestClient) -> None:
        response = client.post("/v1/rfm", json={}, headers=key(client, "server"))
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")


class TestSegmentsOverHttp:
    def test_preview_save_refresh_lookup_export(self, client: TestClient) -> None:
        admin, server = key(client, "admin"), key(client, "server")
        rule = {"field": "feature.orders", "op": "gte", "value": 2}
        preview = ok(
            client.post("/v1/segments/preview", json={"rule": rule, "sample": 2}, headers=admin)
        )
        assert preview == {"count": 5, "sample": ["u1", "u3"], "as_of": "2024-03-31"}
        created = ok(
            client.post(
                "/v1/segments",
                json={"key": "repeat", "rule": rule, "refresh_minutes": 15},
                headers=admin,
            ),
            201,
        )
        assert created["rule"] == rule and created["refreshed_at"] is None
        assert ok(client.post("/v1/segments/refresh", headers=admin))[0]["members"] == 5
        assert ok(client.post("/v1/segments/refresh", headers=admin)) == []  # nothing due now
        member = ok(client.get("/v1/segments/repeat/members/u7", headers=server))
        assert member == {"key": "repeat", "user_id": "u7", "member": True}
        page = ok(
            client.get(
                "/v1/segments/repeat/members", params={"limit": 2, "offset": 1}, headers=admin
            )
        )
        assert page == {"key": "repeat", "total": 5, "offset": 1, "user_ids": ["u3", "u4"]}
        csv = client.get("/v1/segments/repeat/export.csv", headers=admin)
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[0].startswith("user_id,country,channel")
        assert len(csv.text.splitlines()) == 6
        snaps = ok(client.get("/v1/segments/repeat/snapshots", headers=admin))
        assert [s["members"] for s in snaps] == [5]
        ok(
            client.patch(
                "/v1/segments/repeat",
                json={"rule": {"field": "feature.orders", "op": "gte", "value": 3}},
                headers=admin,
            )
        )
        assert ok(client.post("/v1/segments/repeat/refresh", headers=admin))["removed"] == 3
        first = snaps[0]["id"]
        assert (
            len(
                ok(client.get(f"/v1/segments/repeat/snapshots/{first}/members", headers=admin))[
                    "user_ids"
                ]
            )
            == 5
        )
        ok(client.delete("/v1/segments/repeat", headers=admin), 204)
        assert client.get("/v1/segments/repeat", headers=admin).status_code == 404

    def test_a_bad_rule_is_a_400_that_points_at_the_wrong_part(self, client: TestClient) -> None:
        rule = {"all": [{"field": "feature.orders", "op": "gte", "value": 1}, {"did": "ordr"}]}
        response = client.post(
            "/v1/segments/preview", json={"rule": rule}, headers=key(client, "admin")
        )
        body = response.json()
        assert response.status_code == 400 and body["code"] == "segment_rule_invalid"
        assert body["path"] == "$.all[1].did" and "$.all[1].did" in body["detail"]

    def test_a_duplicate_key_is_a_409(self, client: TestClient) -> None:
        admin = key(client, "admin")
        segment = {"key": "x", "rule": {"tag": "vip"}}
        ok(client.post("/v1/segments", json=segment, headers=admin), 201)
        response = client.post("/v1/segments", json=segment, headers=admin)
        assert response.status_code == 409 and response.json()["code"] == "segment_exists"

    def test_tags_by_hand_and_by_rule(self, client: TestClient) -> None:
        admin = key(client, "admin")
        assert (
            ok(client.post("/v1/tags/vip/users", json={"user_ids": ["u1", "u2"]}, headers=admin))[
                "added"
            ]
            == 2
        )
        ok(client.delete("/v1/tags/vip/users/u2", headers=admin), 204)
        rule = {"field": "feature.revenue", "op": "gt", "value": 200}
        ok(client.post("/v1/tags", json={"key": "big", "rule": rule}, headers=admin), 201)
        assert ok(client.post("/v1/tags/refresh", headers=admin))[0]["members"] == 2
        tags = {t["key"]: t["users"] for t in ok(client.get("/v1/tags", headers=admin))}
        assert tags == {"big": 2, "vip": 1}
        response = client.post("/v1/tags/big/users", json={"user_ids": ["u5"]}, headers=admin)
        assert response.status_code == 409 and response.json()["code"] == "tag_is_rule_based"
