"""Segment-compatible tracking over HTTP: auth, limits, validation, dedupe, identity, commerce."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.ingest.tracking.flush import flush_inbox, waiting_messages
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse


@pytest.fixture
def stores(settings: Settings, database: Database) -> tuple[Settings, Database, Warehouse]:
    wh = Warehouse(settings)
    wh.init()
    return settings, database, wh


@pytest.fixture
def client(stores: tuple[Settings, Database, Warehouse]) -> TestClient:
    settings, _, _ = stores
    return TestClient(create_app(settings))


@pytest.fixture
def write_key(stores: tuple[Settings, Database, Warehouse]) -> str:
    with stores[1].session() as session:
        return create_key(session, "test", ["write"]).secret


def flush(stores: tuple[Settings, Database, Warehouse]) -> None:
    settings, database, warehouse = stores
    flush_inbox(settings, database, warehouse)


def table(stores: tuple[Settings, Database, Warehouse], name: str) -> pd.DataFrame:
    with stores[2].reader() as con:
        return con.table(name).execute()


def post(client: TestClient, key: str | None, path: str, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = (key, "") if key else None
    return client.post(path, content=data, auth=auth, headers={"content-type": "application/json"})


class TestAuth:
    def test_missing_key_is_401_problem_json(self, client: TestClient) -> None:
        response = post(client, None, "/v1/track", {"userId": "u", "event": "x"})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "missing_api_key"

    def test_unknown_key_is_rejected(self, client: TestClient) -> None:
        response = post(client, "tnr_write_nope", "/v1/track", {"userId": "u", "event": "x"})
        assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")

    def test_write_key_in_the_body_is_accepted(self, client: TestClient, write_key: str) -> None:
        response = post(
            client, None, "/v1/track", {"userId": "u", "event": "x", "writeKey": write_key}
        )
        assert response.status_code == 200


class TestLimitsAndValidation:
    def test_oversize_message_is_400(self, client: TestClient, write_key: str) -> None:
        body = {"userId": "u", "event": "x", "properties": {"blob": "x" * 33_000}}
        response = post(client, write_key, "/v1/track", body)
        assert (response.status_code, response.json()["code"]) == (400, "message_too_large")

    def test_oversize_batch_is_400(self, client: TestClient, write_key: str) -> None:
        batch = [
            {"type": "track", "userId": "u", "event": "x", "properties": {"b": "x" * 20_000}}
        ] * 30
        response = post(client, write_key, "/v1/batch", {"batch": batch})
        assert (response.status_code, response.json()["code"]) == (400, "batch_too_large")
        assert response.json()["limit"] == 500 * 1024

    def test_malformed_json_is_400(self, client: TestClient, write_key: str) -> None:
        response = post(client, write_key, "/v1/track", b"{not json")
        assert (response.status_code, response.json()["code"]) == (400, "malformed_json")

    def test_track_without_event_names_the_field(self, client: TestClient, write_key: str) -> None:
        response = post(client, write_key, "/v1/track", {"userId": "u"})
        assert response.status_code == 400
        assert response.json()["field"] == "event"

    def test_a_bad_message_in_a_batch_is_reported_and_the_good_ones_kept(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        batch = [
            {"type": "track", "userId": "u1", "event": "A", "messageId": "m1"},
            {"type": "track", "event": "B", "messageId": "m2"},
            {
                "type": "track",
                "userId": "u1",
                "event": "C",
                "messageId": "m3",
                "properties": {"big": "x" * 33_000},
            },
            {"type": "nonsense", "userId": "u1", "messageId": "m4"},
            {"type": "page", "anonymousId": "a1", "name": "Home", "messageId": "m5"},
        ]
        response = post(client, write_key, "/v1/batch", {"batch": batch})
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "batch_partially_rejected"
        assert body["accepted"] == 2
        assert [(r["index"], r["code"]) for r in body["rejected"]] == [
            (1, "invalid_message"),
            (2, "message_too_large"),
            (3, "invalid_message"),
        ]
        flush(stores)
        assert sorted(table(stores, "events").event_id) == ["m1", "m5"]


class TestDurabilityAndDedupe:
    def test_a_2xx_means_the_message_is_in_the_database(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        assert (
            post(client, write_key, "/v1/track", {"userId": "u", "event": "x"}).status_code == 200
        )
        # A new engine sees it: it is committed, not only in the server's session.
        assert waiting_messages(Database(stores[0].sqlalchemy_url)) == 1

    def test_repeated_message_ids_are_stored_once(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        message = {"userId": "u", "event": "x", "messageId": "same"}
        for _ in range(3):
            assert post(client, write_key, "/v1/track", message).status_code == 200
        flush(stores)
        assert post(client, write_key, "/v1/track", message).status_code == 200
        flush(stores)
        assert table(stores, "events").event_id.tolist() == ["same"]

    def test_sent_at_corrects_client_clock_skew(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        now = datetime.now(UTC)
        skew = timedelta(hours=3)  # the device clock is 3 h fast
        event_time = now - timedelta(minutes=10) + skew
        body = {
            "batch": [
                {
                    "type": "track",
                    "userId": "u",
                    "event": "x",
                    "messageId": "k",
                    "timestamp": event_time.isoformat(),
                }
            ],
            "sentAt": (now + skew).isoformat(),
        }
        assert post(client, write_key, "/v1/batch", body).status_code == 200
        flush(stores)
        ts = table(stores, "events").ts.iloc[0].to_pydatetime()
        assert abs(ts - (now - timedelta(minutes=10))) < timedelta(seconds=5)


class TestIdentity:
    def test_identify_and_alias_merge_anonymous_activity_into_one_person(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        post(
            client,
            write_key,
            "/v1/page",
            {"anonymousId": "anon-1", "name": "Home", "messageId": "p1"},
        )
        post(
            client,
            write_key,
            "/v1/track",
            {"anonymousId": "anon-1", "event": "Product Viewed", "messageId": "t1"},
        )
        flush(stores)
        post(
            client,
            write_key,
            "/v1/identify",
            {
                "anonymousId": "anon-1",
                "userId": "alice",
                "messageId": "i1",
                "traits": {
                    "email": "a@example.com",
                    "birthday": "1990-05-04",
                    "address": {"country": "CN"},
                    "createdAt": "2024-01-02T03:04:05Z",
                },
            },
        )
        post(
            client,
            write_key,
            "/v1/track",
            {"userId": "alice-old", "event": "Old", "messageId": "t2"},
        )
        post(
            client,
            write_key,
            "/v1/alias",
            {"previousId": "alice-old", "userId": "alice", "messageId": "a1"},
        )
        flush(stores)
        events = table(stores, "events").set_index("event_id")
        assert events.loc[["p1", "t1", "i1", "t2"], "user_id"].tolist() == ["alice"] * 4
        users = table(stores, "users").set_index("user_id")
        assert users.loc["alice", "country"] == "CN"
        assert str(users.loc["alice", "birthday"])[:10] == "1990-05-04"
        assert json.loads(users.loc["alice", "attributes"])["email"] == "a@example.com"


class TestCommerce:
    def test_order_events_maintain_orders_lines_items_and_refunds(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        products = [
            {
                "product_id": "sku-1",
                "name": "Tea",
                "price": 4.5,
                "quantity": 2,
                "category": "drinks",
            },
            {"sku": "sku-2", "name": "Cup", "price": "3.00", "category": "kitchen"},
        ]
        post(
            client,
            write_key,
            "/v1/track",
            {
                "userId": "bob",
                "event": "Product Viewed",
                "messageId": "v1",
                "properties": {"sku": "sku-3", "name": "Pot", "price": 20},
            },
        )
        post(
            client,
            write_key,
            "/v1/track",
            {
                "userId": "bob",
                "event": "Order Completed",
                "messageId": "o1",
                "properties": {
                    "order_id": "A-1",
                    "total": 12,
                    "currency": "cny",
                    "products": products,
                },
            },
        )
        post(
            client,
            write_key,
            "/v1/track",
            {
                "userId": "bob",
                "event": "Order Completed",
                "messageId": "o2",
                "properties": {"order_id": "A-2", "products": products},
            },
        )
        post(
            client,
            write_key,
            "/v1/track",
            {
                "userId": "bob",
                "event": "Order Refunded",
                "messageId": "r1",
                "properties": {"order_id": "A-1"},
            },
        )
        post(
            client,
            write_key,
            "/v1/track",
            {
                "userId": "bob",
                "event": "Order Cancelled",
                "messageId": "c1",
                "properties": {"order_id": "A-2"},
            },
        )
        flush(stores)
        orders = table(stores, "orders").set_index("order_id")
        assert orders.loc["A-1", ["status", "amount", "currency"]].tolist() == [
            "paid",
            Decimal("12.0000"),
            "CNY",
        ]
        assert orders.loc["A-2", ["status", "amount"]].tolist() == ["cancelled", Decimal("12.0000")]
        refund = orders[orders.status == "refunded"]
        assert refund.amount.tolist() == [Decimal("-12.0000")]
        assert json.loads(refund.properties.iloc[0]) == {"refund_of": "A-1"}
        lines = table(stores, "order_lines")
        assert sorted(lines[lines.order_id == "A-1"].sku) == ["sku-1", "sku-2"]
        items = table(stores, "items").set_index("sku")
        assert items.loc["sku-3", "name"] == "Pot"
        assert items.loc["sku-1", "category"] == "drinks"


class TestInboxRows:
    def test_a_batch_repeating_a_message_id_stores_its_first_copy(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        batch = [
            {"type": "track", "userId": "u", "event": "first", "messageId": "m1"},
            {"type": "track", "userId": "u", "event": "second", "messageId": "m1"},
            {"type": "track", "userId": "u", "event": "other", "messageId": "m2"},
        ]
        assert post(client, write_key, "/v1/batch", {"batch": batch}).status_code == 200
        assert waiting_messages(stores[1]) == 3
        flush(stores)
        events = table(stores, "events").sort_values("event_id")
        assert events[["event_id", "name"]].values.tolist() == [["m1", "first"], ["m2", "other"]]
        assert waiting_messages(stores[1]) == 0

    def test_first_seen_is_the_earliest_message_of_the_flush_whatever_the_order(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        base = datetime(2026, 3, 1, 12, tzinfo=UTC)
        batch = [
            {
                "type": kind,
                "userId": "u",
                "event": "x",
                "traits": {"country": "CN", "plan": "gold"} if kind == "identify" else None,
                "messageId": f"m{hours}",
                "timestamp": (base + timedelta(hours=hours)).isoformat(),
            }
            for kind, hours in (("track", 5), ("identify", 9), ("track", -7), ("page", 2))
        ]
        body = {"batch": batch, "sentAt": datetime.now(UTC).isoformat()}
        assert post(client, write_key, "/v1/batch", body).status_code == 200
        flush(stores)
        users = table(stores, "users")
        assert len(users) == 1
        first_seen = users.first_seen.iloc[0].to_pydatetime()
        assert abs(first_seen - (base - timedelta(hours=7))) < timedelta(seconds=5)
        assert users.country.iloc[0] == "CN"
        assert json.loads(users.attributes.iloc[0]) == {"country": "CN", "plan": "gold"}

    def test_group_events_keep_the_group_id_and_its_traits(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        message = {"userId": "u", "groupId": "acme", "traits": {"seats": 12}}
        assert post(client, write_key, "/v1/group", message).status_code == 200
        flush(stores)
        events = table(stores, "events")
        assert json.loads(events.properties.iloc[0]) == {"group_id": "acme", "seats": 12}

    def test_product_events_keep_the_latest_facts_per_sku(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        base = datetime(2026, 3, 1, tzinfo=UTC)
        views = [
            (3, {"sku": "S1", "name": "Mug v3", "price": "7.25", "category": "kitchen"}),
            (1, {"sku": "S1", "name": "Mug v1", "price": 5}),
            (2, {"product_id": 42, "name": "Pot", "price": "n/a"}),
            (4, {"name": "no sku at all", "price": 1}),
        ]
        batch = [
            {
                "type": "track",
                "userId": "u",
                "event": "Product Viewed",
                "messageId": f"v{hours}",
                "timestamp": (base + timedelta(hours=hours)).isoformat(),
                "properties": props,
            }
            for hours, props in views
        ]
        body = {"batch": batch, "sentAt": datetime.now(UTC).isoformat()}
        assert post(client, write_key, "/v1/batch", body).status_code == 200
        flush(stores)
        items = table(stores, "items").sort_values("sku")
        assert items[["sku", "name"]].values.tolist() == [["42", "Pot"], ["S1", "Mug v3"]]
        assert pd.isna(items.category.iloc[0]) and items.category.iloc[1] == "kitchen"
        assert pd.isna(items.price.iloc[0])
        assert items.price.iloc[1] == Decimal("7.25")


def post_encoded(client: TestClient, key: str, path: str, data: bytes, encoding: str) -> Any:
    headers = {"content-type": "application/json", "content-encoding": encoding}
    return client.post(path, content=data, auth=(key, ""), headers=headers)


class TestCompressedBodies:
    def test_a_gzip_batch_is_accepted_and_stored(
        self, client: TestClient, write_key: str, stores: tuple[Settings, Database, Warehouse]
    ) -> None:
        batch = [{"type": "track", "userId": f"u{i}", "event": "Zipped"} for i in range(40)]
        data = gzip.compress(json.dumps({"batch": batch}).encode())
        response = post_encoded(client, write_key, "/v1/batch", data, "gzip")
        assert (response.status_code, response.json()["accepted"]) == (200, 40)
        flush(stores)
        assert (table(stores, "events")["name"] == "Zipped").sum() == 40

    def test_a_gzip_single_call_is_accepted(self, client: TestClient, write_key: str) -> None:
        data = gzip.compress(json.dumps({"userId": "u", "event": "x"}).encode())
        response = post_encoded(client, write_key, "/v1/track", data, "gzip")
        assert response.status_code == 200

    def test_the_limit_applies_to_the_inflated_body(
        self, client: TestClient, write_key: str
    ) -> None:
        batch = [{"type": "track", "userId": "u", "event": "x", "properties": {"b": "x" * 20_000}}]
        data = gzip.compress(json.dumps({"batch": batch * 30}).encode())
        assert len(data) < 500 * 1024
        response = post_encoded(client, write_key, "/v1/batch", data, "gzip")
        assert (response.status_code, response.json()["code"]) == (413, "body_too_large")

    def test_a_decompression_bomb_is_413_without_inflating_it(
        self, client: TestClient, write_key: str
    ) -> None:
        bomb = gzip.compress(b"0" * 200_000_000, compresslevel=9)  # 200 MB in about 200 KB
        response = post_encoded(client, write_key, "/v1/batch", bomb, "gzip")
        assert (response.status_code, response.json()["code"]) == (413, "body_too_large")

    def test_other_encodings_are_415(self, client: TestClient, write_key: str) -> None:
        response = post_encoded(client, write_key, "/v1/track", b"{}", "br")
        assert (response.status_code, response.json()["code"]) == (415, "unsupported_encoding")

    def test_a_broken_gzip_stream_is_400(self, client: TestClient, write_key: str) -> None:
        data = gzip.compress(json.dumps({"userId": "u", "event": "x"}).encode())[:-6]
        response = post_encoded(client, write_key, "/v1/track", data, "gzip")
        assert (response.status_code, response.json()["code"]) == (400, "malformed_gzip")
