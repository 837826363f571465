"""Implausible times through tracking: a write key cannot send 9999 or 0001 into the analytics.

Far-future times are stored at their arrival time, times before the earliest plausible time are
refused; both are counted in ingestion_warnings (GET /v1/ingestion/warnings, `tenure status`).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
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

Stores = tuple[Settings, Database, Warehouse]
FUTURE, ANCIENT = "9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z"
JSON = "application/json"


@pytest.fixture
def stores(settings: Settings, database: Database) -> Stores:
    warehouse = Warehouse(settings)
    warehouse.init()
    return settings, database, warehouse


@pytest.fixture
def client(stores: Stores) -> TestClient:
    return TestClient(create_app(stores[0]))


def _key(stores: Stores, scope: str) -> str:
    with stores[1].session() as session:
        return create_key(session, scope, [scope]).secret


@pytest.fixture
def write_key(stores: Stores) -> str:
    return _key(stores, "write")


@pytest.fixture
def admin_key(stores: Stores) -> str:
    return _key(stores, "admin")


def post(client: TestClient, key: str, path: str, body: Any) -> Any:
    data = json.dumps(body).encode()
    return client.post(path, content=data, auth=(key, ""), headers={"content-type": JSON})


def track(message_id: str, timestamp: str | None, **extra: Any) -> dict[str, Any]:
    body = {"type": "track", "userId": "u1", "event": "Order Completed", "messageId": message_id}
    body["properties"] = {"order_id": message_id, "total": 10}
    return body | ({"timestamp": timestamp} if timestamp else {}) | extra


def warnings(client: TestClient, admin_key: str) -> dict[tuple[str, str], dict[str, Any]]:
    response = client.get("/v1/ingestion/warnings", auth=(admin_key, ""))
    assert response.status_code == 200, response.text
    return {(w["source"], w["reason"]): w for w in response.json()["warnings"]}


def stored(stores: Stores, table: str) -> pd.DataFrame:
    flush_inbox(*stores)
    with stores[2].reader(raw=True) as con:
        return con.table(table).execute()


def test_a_far_future_event_is_stored_at_its_arrival_time_and_counted(
    client: TestClient, stores: Stores, write_key: str, admin_key: str
) -> None:
    before = datetime.now(UTC)
    response = post(client, write_key, "/v1/track", track("m-future", FUTURE))
    assert response.status_code == 200
    events, orders = stored(stores, "events"), stored(stores, "orders")
    ts = events.set_index("event_id").loc["m-future", "ts"].to_pydatetime()
    assert before - timedelta(seconds=1) <= ts <= datetime.now(UTC)
    assert orders.set_index("order_id").loc["m-future", "ts"].to_pydatetime() == ts
    found = warnings(client, admin_key)[("tracking", "future_clamped")]
    assert found["count"] == 1
    assert found["examples"][0]["messageId"] == "m-future"
    assert found["examples"][0]["timestamp"] == FUTURE


def test_an_event_before_the_earliest_time_is_refused_and_counted(
    client: TestClient, stores: Stores, write_key: str, admin_key: str
) -> None:
    response = post(client, write_key, "/v1/track", track("m-ancient", ANCIENT))
    assert (response.status_code, response.json()["code"]) == (400, "implausible_timestamp")
    assert waiting_messages(stores[1]) == 0
    found = warnings(client, admin_key)[("tracking", "too_early")]
    assert (found["count"], found["examples"][0]["messageId"]) == (1, "m-ancient")


def test_a_batch_stores_the_plausible_and_clamped_messages_and_refuses_the_ancient_one(
    client: TestClient, stores: Stores, write_key: str, admin_key: str
) -> None:
    now = datetime.now(UTC)
    batch = [
        track("ok", (now - timedelta(days=3)).isoformat()),
        track("future", FUTURE),
        track("ancient", ANCIENT),
        track("tomorrow", (now + timedelta(hours=20)).isoformat()),  # inside the tolerance
    ]
    response = post(client, write_key, "/v1/batch", {"batch": batch})
    assert response.status_code == 400
    problem = response.json()
    assert problem["accepted"] == 3
    assert [(r["index"], r["code"]) for r in problem["rejected"]] == [(2, "implausible_timestamp")]
    events = stored(stores, "events").set_index("event_id")
    assert set(events.index) == {"ok", "future", "tomorrow"}
    assert events.loc["ok", "ts"] < events.loc["future", "ts"] < events.loc["tomorrow", "ts"]
    assert events.loc["tomorrow", "ts"] > pd.Timestamp(now + timedelta(hours=19))
    found = warnings(client, admin_key)
    assert {k: w["count"] for k, w in found.items()} == {
        ("tracking", "future_clamped"): 1,
        ("tracking", "too_early"): 1,
    }


def test_a_sent_at_millennia_from_the_timestamp_is_a_400_not_a_500(
    client: TestClient, stores: Stores, write_key: str
) -> None:
    now = datetime.now(UTC).isoformat()
    # The correction timestamp + (receivedAt - sentAt) leaves the calendar.
    response = post(client, write_key, "/v1/track", track("m1", now, sentAt=FUTURE))
    assert (response.status_code, response.json()["code"]) == (400, "implausible_timestamp")
    response = post(
        client, write_key, "/v1/track", track("m2", "9999-12-01T00:00:00Z", sentAt=ANCIENT)
    )
    assert response.status_code == 200
    # A device whose clock says 9999 everywhere is corrected, not clamped: sentAt says so too.
    response = post(client, write_key, "/v1/track", track("m3", FUTURE, sentAt=FUTURE))
    assert response.status_code == 200
    ts = stored(stores, "events").set_index("event_id")["ts"]
    assert abs(ts["m3"].to_pydatetime() - datetime.now(UTC)) < timedelta(minutes=1)
    assert abs(ts["m2"].to_pydatetime() - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_flood_of_bad_times_adds_to_one_counter_with_a_few_examples(
    client: TestClient, write_key: str, admin_key: str
) -> None:
    for call in range(3):
        batch = [track(f"f{call}-{n}", FUTURE) for n in range(40)]
        batch += [track(f"a{call}-{n}", ANCIENT) for n in range(40)]
        assert post(client, write_key, "/v1/batch", {"batch": batch}).status_code == 400
    found = warnings(client, admin_key)
    assert len(found) == 2
    for key in (("tracking", "future_clamped"), ("tracking", "too_early")):
        assert found[key]["count"] == 120
        assert len(found[key]["examples"]) == 5


def test_the_warnings_endpoint_needs_the_admin_scope(client: TestClient, write_key: str) -> None:
    response = client.get("/v1/ingestion/warnings", auth=(write_key, ""))
    assert response.status_code == 403


def test_analytics_answer_quickly_and_sanely_after_extreme_events(
    client: TestClient, stores: Stores, write_key: str, admin_key: str
) -> None:
    now = datetime.now(UTC)
    batch = [
        track(f"o{n}", (now - timedelta(days=40 - n)).isoformat(), userId=f"u{n % 4}")
        for n in range(12)
    ]
    batch += [track("future", FUTURE), track("ancient", ANCIENT)]
    post(client, write_key, "/v1/batch", {"batch": batch})
    flush_inbox(*stores)
    today = now.date()
    started = time.perf_counter()
    for period in ("day", "week", "month"):
        kpis = post(client, admin_key, "/v1/analytics/kpis", {"period": period})
        assert kpis.status_code == 200, kpis.text
        assert kpis.json()["until"] <= (today + timedelta(days=1)).isoformat()
    retention = post(client, admin_key, "/v1/analytics/retention", {"period": "week"})
    assert retention.status_code == 200, retention.text
    assert retention.json()["observed_until"] <= (today + timedelta(days=1)).isoformat()
    rfm = post(client, admin_key, "/v1/rfm", {})
    assert rfm.status_code == 200, rfm.text
    assert rfm.json()["as_of"] <= (today + timedelta(days=1)).isoformat()
    acquisition = post(client, admin_key, "/v1/analytics/acquisition", {"period": "day"})
    assert acquisition.status_code == 200, acquisition.text
    assert time.perf_counter() - started < 30
