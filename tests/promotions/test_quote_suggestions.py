"""`suggestions` on a checkout quote: items bought with the cart's, from the recommendation
model, never one already in the cart; none (and no failure) before a model is trained."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.promotions import router
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.baskets import add_baskets, trained


def _cart(*skus: str) -> dict[str, Any]:
    return {
        "user_id": "u1",
        "lines": [{"sku": sku, "quantity": 1, "unit_price_minor": 500} for sku in skus],
    }


class Checkout:
    """A test client with a server key."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.client = TestClient(create_app(settings))
        with database.session() as session:
            self.key = create_key(session, "shop", ["server"]).secret

    def quote(self, *skus: str) -> dict[str, Any]:
        response = self.client.post(
            "/v1/checkout/quote", json=_cart(*skus), headers={"authorization": f"Bearer {self.key}"}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def checkout(settings: Settings, database: Database) -> Checkout:
    return Checkout(settings, database)


class TestWithAModel:
    def test_the_quote_suggests_what_was_bought_with_the_cart(
        self, checkout: Checkout, settings: Settings, warehouse: Warehouse
    ) -> None:
        add_baskets(warehouse)
        trained(settings, warehouse)

        suggestions = checkout.quote("MUG")["suggestions"]

        assert {s["sku"] for s in suggestions} == {"TEA", "POT"}
        pot = next(s for s in suggestions if s["sku"] == "POT")
        assert pot["name"] == "Teapot" and pot["category"] == "kitchen"
        assert (pot["reason_code"], pot["anchor_sku"]) == ("bought_together", "MUG")
        assert isinstance(pot["reason_text"], str) and pot["reason_text"]
        assert set(pot) == {
            "sku", "name", "category", "reason_code", "reason_text", "anchor_sku",
        }  # fmt: skip

    def test_nothing_in_the_cart_is_suggested_and_at_most_three_are(
        self, checkout: Checkout, settings: Settings, warehouse: Warehouse
    ) -> None:
        add_baskets(warehouse)
        trained(settings, warehouse)

        both = checkout.quote("MUG", "TEA")["suggestions"]
        wide = checkout.quote("MUG", "PEN")["suggestions"]

        assert [s["sku"] for s in both] == ["POT"]
        assert len(wide) == 3 and not {s["sku"] for s in wide} & {"MUG", "PEN"}

    def test_a_cart_of_unknown_items_gets_no_suggestions(
        self, checkout: Checkout, settings: Settings, warehouse: Warehouse
    ) -> None:
        add_baskets(warehouse)
        trained(settings, warehouse)

        assert checkout.quote("NEW-1", "NEW-2")["suggestions"] == []

    def test_an_unreadable_model_still_quotes(
        self, checkout: Checkout, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(*args: Any) -> Any:
            raise OSError("model file truncated")

        monkeypatch.setattr(router, "upsell", broken)

        body = checkout.quote("MUG")

        assert body["suggestions"] == [] and body["subtotal_minor"] == 500


class TestWithoutAModel:
    def test_the_quote_has_an_empty_suggestions_list(
        self, checkout: Checkout, warehouse: Warehouse
    ) -> None:
        add_baskets(warehouse)  # data to learn from, but nothing trained

        body = checkout.quote("MUG", "TEA")

        assert body["suggestions"] == [] and body["total_minor"] == 1000
