"""The served lists: the business rules, cold start, reasons, versions and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenure.config import Settings
from tenure.i18n import use_locale
from tenure.recommend import service
from tenure.recommend.errors import NoData, NotTrained, UnknownItem
from tenure.recommend.serve import model_store
from tenure.recommend.train import TrainConfig
from tenure.storage.warehouse import Warehouse
from tests.recommend.builders import build_shop, shop_settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("serving")
    wh = build_shop(home)
    config = shop_settings(home)
    service.train_and_store(config, wh, TrainConfig(k=10, min_support=3))
    return config


def skus(result: dict) -> list[str]:  # type: ignore[type-arg]
    return [item["sku"] for item in result["items"]]


def test_a_known_user_never_sees_what_they_bought_unless_repeatable(settings: Settings) -> None:
    result = service.for_user(settings, "u8", 10)
    assert result["known_user"] is True
    listed = skus(result)
    assert "T2" not in listed  # bought
    assert "B1" in listed  # bought too, but coffee beans are bought again
    assert not {"P1", "K1", "POST"} & set(listed)  # out of stock, inactive, postage


def test_inactive_out_of_stock_and_non_products_are_never_listed(settings: Settings) -> None:
    for user in ("u1", "u2", "u3", "u4", "u5", "u8", "u9", "someone-new"):
        listed = set(skus(service.for_user(settings, user, 20)))
        assert not listed & {"P1", "K1", "POST"}, user


def test_an_unknown_user_gets_the_starter_list(settings: Settings) -> None:
    result = service.for_user(settings, "someone-new", 3)
    assert result["known_user"] is False
    assert result["items"][0]["sku"] == "T1"  # what 4 of 7 customers bought first
    assert result["items"][0]["reason"]["code"] == "starter"
    assert result["model_version"] == model_store(settings.home).versions()[-1]


def test_context_items_come_first_with_their_reason_and_are_not_listed(settings: Settings) -> None:
    result = service.for_user(settings, "u5", 5, context=["T1", "NOT-A-SKU"])
    first = result["items"][0]
    assert first["sku"] == "C1"
    assert first["reason"] == {
        "code": "bought_together",
        "text": "Often bought with Green tea",
        "sku": "T1",
        "place": None,
    }
    assert "T1" not in skus(result)


def test_reasons_follow_the_language(settings: Settings) -> None:
    with use_locale("zh_CN"):
        result = service.together(settings, "T1", 1)
    assert result["items"][0]["reason"]["text"] == "常与 Green tea 一起购买"


def test_together_carries_the_pair_statistics_then_fills_in(settings: Settings) -> None:
    result = service.together(settings, "T1", 4)
    first = result["items"][0]
    assert first["sku"] == "C1"
    assert first["statistics"] == {"orders": 4, "confidence": 0.8, "lift": 2.2}
    assert len(result["items"]) == 4
    assert all(i["statistics"] is None for i in result["items"][1:])
    assert "T1" not in skus(result)


def test_category_filter_and_per_category_cap(settings: Settings) -> None:
    only = service.for_user(settings, "someone-new", 10, category="cups")
    assert skus(only) and {i["category"] for i in only["items"]} == {"cups"}
    capped = settings.model_copy(update={"recommend_max_per_category": 1})
    listed = service.for_user(capped, "someone-new", 10)["items"]
    categories = [i["category"] for i in listed if i["category"]]
    assert len(categories) == len(set(categories))


def test_an_unknown_sku_is_an_error(settings: Settings) -> None:
    with pytest.raises(UnknownItem) as caught:
        service.together(settings, "NOPE", 3)
    assert caught.value.status == 404 and caught.value.code == "recommend_unknown_item"


def test_nothing_trained_and_an_empty_shop_say_so(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(NotTrained):
        service.for_user(settings, "u1", 3)
    assert service.upsell(settings, ["T1"]) == []
    wh = Warehouse(settings)
    wh.init()
    with pytest.raises(NoData) as caught:
        service.train_and_store(settings, wh)
    assert "no paid orders" in caught.value.message


def test_a_new_version_is_served_and_old_ones_are_pruned(tmp_path: Path) -> None:
    wh = build_shop(tmp_path)
    settings = shop_settings(tmp_path)
    versions = [service.train_and_store(settings, wh)["version"] for _ in range(4)]
    store = model_store(tmp_path)
    assert store.versions() == versions[-3:]
    from tenure.recommend import serve

    serve._cache.clear()
    assert service.for_user(settings, "u1", 1)["model_version"] == versions[-1]


def test_upsell_suggests_partners_of_the_cart_only(settings: Settings) -> None:
    suggested = service.upsell(settings, ["T1", "UNKNOWN"], 3)
    assert [s["sku"] for s in suggested][:1] == ["C1"]
    assert "T1" not in [s["sku"] for s in suggested]
    assert service.upsell(settings, ["UNKNOWN"], 3) == []


@pytest.mark.parametrize("personal", ["bpr", "covisit"])
def test_every_personal_model_trains_and_serves(tmp_path: Path, personal: str) -> None:
    wh = build_shop(tmp_path)
    settings = shop_settings(tmp_path)
    summary = service.train_and_store(settings, wh, TrainConfig(personal=personal, k=5))  # type: ignore[arg-type]
    assert summary["config"]["personal"] == personal
    listed = service.for_user(settings, "u1", 5)
    assert listed["known_user"] and listed["items"]
    assert "T1" not in skus(listed)
