"""Profiles: attributes, features, scores, RFM, lifecycle, segments, tags and timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.profiles.errors import UserNotFound
from tenure.profiles.schemas import Amount
from tenure.profiles.service import build_profile
from tenure.segments import service, tags
from tenure.segments.lifecycle import LifecycleQuery
from tenure.segments.rfm import RfmQuery
from tenure.segments.runs import refresh_segments, run_lifecycle, run_rfm
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.segments.builders import build_shop


@pytest.fixture
def stores(tmp_path: Path, database_url: str) -> tuple[Settings, Warehouse, Database]:
    shop = build_shop(tmp_path)
    settings = Settings(home=tmp_path, database_url=database_url, inbox_flush_seconds=0)
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    run_rfm(shop, ZoneInfo("UTC"), RfmQuery(), save=True)
    run_lifecycle(shop, database, ZoneInfo("UTC"), LifecycleQuery(), save=True)
    with database.session() as session:
        service.create_segment(
            session, "repeat", {"field": "feature.orders", "op": "gte", "value": 2}
        )
        tags.tag_users(session, "vip", ["u6"])
    refresh_segments(database, shop, ZoneInfo("UTC"), None, None)
    return settings, shop, database


class TestProfile:
    def test_features_are_computed_from_the_orders(
        self, stores: tuple[Settings, Warehouse, Database]
    ) -> None:
        _, shop, database = stores
        with shop.reader() as con, database.session() as session:
            p = build_profile(con, session, "u6", ZoneInfo("UTC"))
        f = p.features
        assert f.as_of == date(2024, 3, 31)
        assert f.first_order_at == datetime(2024, 1, 5, 10, tzinfo=UTC)
        assert f.last_order_at == datetime(2024, 1, 6, 10, tzinfo=UTC)
        assert (f.orders, f.recency_days, f.tenure_days) == (2, 85, 86)
        assert f.revenue == Amount(minor=6000, currency="EUR")  # 120 paid, 60 refunded
        assert f.aov == Amount(minor=3000, currency="EUR")
        assert (f.favourite_category, f.channel) == ("pots", "web")

    def test_scores_rfm_lifecycle_segments_and_tags_are_all_there(
        self, stores: tuple[Settings, Warehouse, Database]
    ) -> None:
        _, shop, database = stores
        with shop.reader() as con, database.session() as session:
            p = build_profile(con, session, "u6", ZoneInfo("UTC"))
        assert p.attributes["country"] == "GB" and p.attributes["channel"] == "ads"
        assert p.rfm is not None and (p.rfm["score"], p.rfm["segment"]) == ("222", "Hibernating")
        assert p.lifecycle is not None and (p.lifecycle.stage, p.lifecycle.since) == (
            "active",
            date(2024, 2, 4),
        )
        assert set(p.scores) == {"rfm", "lifecycle"}
        assert p.segments == ["repeat"] and p.tags == ["vip"]

    def test_the_timeline_holds_orders_and_events_newest_first(
        self, stores: tuple[Settings, Warehouse, Database]
    ) -> None:
        _, shop, database = stores
        with shop.reader() as con, database.session() as session:
            p = build_profile(con, session, "u1", ZoneInfo("UTC"))
        kinds = [(i.kind, i.order_id or i.name) for i in p.timeline]
        assert kinds == [
            ("order", "o3"),
            ("event", "Product Added"),
            ("event", "Product Viewed"),
            ("event", "Product Viewed"),
            ("event", "Product Viewed"),
            ("order", "o2"),
            ("order", "o1"),
        ]
        assert p.timeline[0].amount == Amount(minor=7000, currency="EUR")

    def test_a_prospect_has_attributes_but_no_order_features(
        self, stores: tuple[Settings, Warehouse, Database]
    ) -> None:
        _, shop, database = stores
        with shop.reader() as con, database.session() as session:
            p = build_profile(con, session, "p1", ZoneInfo("UTC"))
        assert p.attributes["plan"] == "free"
        assert p.features.orders == 0 and p.features.revenue is None and p.rfm is None

    def test_an_unknown_user_is_not_found(
        self, stores: tuple[Settings, Warehouse, Database]
    ) -> None:
        _, shop, database = stores
        with pytest.raises(UserNotFound), shop.reader() as con, database.session() as session:
            build_profile(con, session, "nobody", ZoneInfo("UTC"))


class TestProfileOverHttp:
    def test_get_user_returns_the_profile_and_404_for_strangers(
        self, stores: tuple[Settings, Warehouse, Database]
    ) -> None:
        settings, _, database = stores
        client = TestClient(create_app(settings))
        with database.session() as session:
            admin = {"authorization": f"Bearer {create_key(session, 'a', ['admin']).secret}"}
        body = client.get("/v1/users/u7", params={"timeline": 2}, headers=admin).json()
        assert body["rfm"]["segment"] == "Can't Lose" and body["lifecycle"]["stage"] == "loyal"
        assert body["features"]["revenue"] == {"minor": 10000, "currency": "EUR"}
        assert len(body["timeline"]) == 2
        missing = client.get("/v1/users/nobody", headers=admin)
        assert missing.status_code == 404 and missing.json()["code"] == "user_not_found"
