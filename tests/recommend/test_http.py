"""The recommendation endpoints: scopes, cold start, 404 problem+json, languages, bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.apikeys.service import create_key
from tenure.recommend import service
from tenure.storage.database import Database
from tests.recommend.builders import build_shop, shop_settings


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("http")
    service.train_and_store(shop_settings(home), build_shop(home))
    return home


@pytest.fixture
def client(trained: Path, database_url: str) -> TestClient:
    # The lists live in the trained home; the keys in this test's own database.
    settings = shop_settings(trained, database_url=database_url)
    Database(settings.sqlalchemy_url).upgrade()
    return TestClient(create_app(settings))


def key(client: TestClient, scope: str) -> dict[str, str]:
    with client.app.state.database.session() as session:  # type: ignore[attr-defined]
        return {"authorization": f"Bearer {create_key(session, scope, [scope]).secret}"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_users_list_with_version_and_reasons(client: TestClient) -> None:
    body = ok(client.get("/v1/recommendations/users/u5?n=3", headers=key(client, "server")))
    assert body["known_user"] is True and body["model_version"]
    assert 0 < len(body["items"]) <= 3
    for item in body["items"]:
        assert item["reason"]["code"] and item["reason"]["text"]
        assert item["sku"] not in {"T2", "C2", "P1", "K1", "POST"}  # bought, stock, inactive


def test_an_unknown_user_gets_the_cold_start_list_not_a_404(client: TestClient) -> None:
    body = ok(client.get("/v1/recommendations/users/nobody", headers=key(client, "server")))
    assert body["known_user"] is False and body["items"]
    assert body["items"][0]["reason"]["code"] == "starter"


def test_context_and_language(client: TestClient) -> None:
    body = ok(
        client.get(
            "/v1/recommendations/users/u5",
            params={"context": "T1, X", "n": 2, "locale": "zh-CN"},
            headers=key(client, "server"),
        )
    )
    assert body["items"][0]["sku"] == "C1"
    assert body["items"][0]["reason"]["text"] == "常与 Green tea 一起购买"


def test_together_and_an_unknown_sku(client: TestClient) -> None:
    server = key(client, "server")
    body = ok(client.get("/v1/recommendations/items/T1/together?n=2", headers=server))
    assert body["name"] == "Green tea"
    assert body["items"][0]["statistics"] == {"orders": 4, "confidence": 0.8, "lift": 2.2}
    missing = client.get("/v1/recommendations/items/NOPE/together", headers=server)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "recommend_unknown_item"


def test_a_sku_or_user_with_a_slash_is_found(client: TestClient) -> None:
    server = key(client, "server")
    body = ok(client.get("/v1/recommendations/users/a%2Fb", headers=server))
    assert body["user_id"] == "a/b" and body["known_user"] is False
    for path in ("T1%2FL", "T1/L"):
        body = ok(client.get(f"/v1/recommendations/items/{path}/together", headers=server))
        assert body["sku"] == "T1/L" and body["name"] == "Green tea, large"
        # Never sold: no partner of its own, so the category's best sellers fill in.
        assert body["items"] and body["items"][0]["reason"]["code"] == "popular_in_category"


def test_scopes_and_bounds(client: TestClient) -> None:
    assert client.get("/v1/recommendations/users/u1").status_code == 401
    write = key(client, "write")
    assert client.get("/v1/recommendations/users/u1", headers=write).status_code == 403
    server = key(client, "server")
    assert client.get("/v1/recommendations/users/u1?n=0", headers=server).status_code == 422
    assert client.get("/v1/recommendations/users/u1?n=51", headers=server).status_code == 422
    assert client.get("/v1/recommendations/model", headers=server).status_code == 403
    model = ok(client.get("/v1/recommendations/model", headers=key(client, "admin")))
    assert model["users"] > 0 and model["items"] > 0 and model["version"]


def test_before_any_training_the_answer_says_how_to_train(tmp_path: Path) -> None:
    settings = shop_settings(tmp_path)
    Database(settings.sqlalchemy_url).upgrade()
    client = TestClient(create_app(settings))
    response = client.get("/v1/recommendations/users/u1", headers=key(client, "server"))
    assert response.status_code == 409
    assert response.json()["code"] == "recommend_not_trained"
    assert "tenure recommend train" in response.json()["detail"]
