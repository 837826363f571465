"""The 360 page's "Recommended for this customer" panel: the trained model's list (name, SKU,
reason, model version), how to train one when there is none, and everything shown as text."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from tenure.config import Settings
from tenure.recommend.service import for_user
from tenure.storage.warehouse import Warehouse
from tenure.web.pages import customers
from tests.campaigns.baskets import trained
from tests.web.shop import XSS, signed_in

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def recommending(shop: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the console shop with a recommendation model trained on it (the shared shop
    stays without one, as the other console tests expect)."""
    home = tmp_path_factory.mktemp("console-recommend") / "home"
    shutil.copytree(shop.home, home, ignore=shutil.ignore_patterns("sim"))
    settings = shop.model_copy(update={"home": home})
    trained(settings, Warehouse(settings))
    return settings


@pytest.fixture
def trained_client(recommending: Settings) -> Iterator[TestClient]:
    from tenure.api.app import create_app

    with TestClient(create_app(recommending)) as test_client:
        yield test_client


def _buyer(settings: Settings) -> str:
    """A customer with a paid order, so known to the model."""
    with Warehouse(settings).reader() as con:
        orders = con.table("orders")
        paid = orders.filter(orders.status == "paid").order_by("user_id").limit(1).execute()
    return str(paid.user_id.iloc[0])


def _panel(client: TestClient, user_id: str) -> str:
    fragment = client.get("/customers/" + quote(user_id, safe=""), params={"part": "profile"})
    assert fragment.status_code == 200
    text = fragment.text
    assert 'data-testid="customer-recommendations"' in text
    return text.split('data-testid="customer-recommendations"', 1)[1].split("</section>", 1)[0]


class TestWithAModel:
    def test_a_known_customer_sees_the_model_s_list(
        self, trained_client: TestClient, recommending: Settings
    ) -> None:
        signed_in(trained_client)
        user = _buyer(recommending)
        expected = for_user(recommending, user, customers.RECOMMENDED)
        assert expected["known_user"] and len(expected["items"]) == customers.RECOMMENDED

        panel = _panel(trained_client, user)

        assert panel.count('data-testid="customer-recommended-item"') == customers.RECOMMENDED
        rows = panel.split('data-testid="customer-recommended-item"')[1:]
        for row, item in zip(rows, expected["items"], strict=True):
            assert f'<td class="text">{escape(item["name"])}</td>' in row
            assert f"<code>{escape(item['sku'])}</code>" in row
            assert f'<td class="text">{escape(item["reason"]["text"])}</td>' in row
        assert str(expected["model_version"]) in panel
        assert "customer-recommend-untrained" not in panel

    def test_the_hostile_customer_s_list_is_text(self, trained_client: TestClient) -> None:
        signed_in(trained_client)
        fragment = trained_client.get(
            "/customers/" + quote(XSS, safe=""), params={"part": "profile"}
        )
        assert fragment.status_code == 200
        assert 'data-testid="customer-recommend-model"' in fragment.text  # a list, not the hint
        assert XSS not in fragment.text and "<script>" not in fragment.text


class TestWithoutAModel:
    def test_the_panel_says_how_to_train_one(self, client: TestClient, shop: Settings) -> None:
        signed_in(client)

        panel = _panel(client, _buyer(shop))

        assert 'data-testid="customer-recommend-untrained"' in panel
        assert "<code>tenure recommend train</code>" in panel
        assert "customer-recommended-item" not in panel


class TestEscaping:
    def test_markup_in_names_skus_and_reasons_is_shown_as_text(
        self, client: TestClient, shop: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        item: dict[str, Any] = {
            "sku": XSS, "name": XSS, "category": XSS, "score": 1.0,
            "reason": {"code": "popular", "text": XSS, "sku": None, "place": None},
        }  # fmt: skip
        listed = {"user_id": XSS, "model_version": XSS, "known_user": False, "items": [item]}
        monkeypatch.setattr(customers, "_recommended", lambda settings, user_id: listed)
        signed_in(client)

        panel = _panel(client, _buyer(shop))

        assert XSS not in panel and panel.count(ESCAPED) == 4  # name, SKU, reason, version


class TestRecommendationsPage:
    def test_the_model_bundles_and_lists(
        self, trained_client: TestClient, recommending: Settings
    ) -> None:
        from tenure.recommend.service import overview

        signed_in(trained_client)
        page = trained_client.get("/recommendations")
        assert page.status_code == 200
        shown = overview(recommending)
        assert shown["version"] in page.text
        assert 'data-testid="bundles"' in page.text and shown["bundles"]
        first = shown["bundles"][0]
        assert str(escape(first["name"])) in page.text
        assert first["orders"] >= 3 and first["lift"] > 1
        for name in ("starter", "popular"):
            assert f'data-testid="list-{name}"' in page.text

    def test_what_is_bought_with_a_sku_and_an_unknown_one(
        self, trained_client: TestClient, recommending: Settings
    ) -> None:
        from tenure.recommend.service import overview, together

        signed_in(trained_client)
        sku = overview(recommending)["bundles"][0]["sku"]
        page = trained_client.get("/recommendations", params={"sku": sku})
        assert page.status_code == 200 and 'data-testid="together"' in page.text
        for item in together(recommending, sku, 10)["items"]:
            assert str(escape(item["name"])) in page.text
        unknown = trained_client.get("/recommendations", params={"sku": "<b>NOPE</b>"})
        assert unknown.status_code == 200 and 'data-testid="unknown-sku"' in unknown.text
        assert "<b>NOPE</b>" not in unknown.text

    def test_without_a_model_the_page_says_how_to_train(self, client: TestClient) -> None:
        signed_in(client)
        for locale in ("en", "zh-CN"):
            page = client.get("/recommendations", headers={"accept-language": locale})
            assert page.status_code == 200
            assert 'data-testid="no-recommend-model"' in page.text
            assert "tenure recommend train" in page.text
