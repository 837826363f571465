"""Migration 0002 carries messages waiting in the old per-message inbox into tracking_batches."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import command

from tenure.config import Settings
from tenure.ingest.tracking.flush import flush_inbox, waiting_messages
from tenure.storage.database import Database, alembic_config
from tenure.storage.warehouse import Warehouse


def test_waiting_messages_survive_the_upgrade_and_reach_the_warehouse(settings: Settings) -> None:
    url = settings.sqlalchemy_url
    command.upgrade(alembic_config(url), "0001")
    engine = sa.create_engine(url)
    old = [
        ("a1", "track", "u1", None, None, "Product Viewed", {"properties": {"sku": "S1"}}),
        ("a2", "identify", "u1", "anon", None, None, {"traits": {"country": "FR"}}),
        ("a3", "group", "u1", None, None, None, {"group_id": "acme", "traits": {"seats": 3}}),
    ]
    with engine.begin() as con:
        for message_id, kind, user, anon, prev, name, payload in old:
            con.execute(
                sa.text(
                    "INSERT INTO tracking_inbox (message_id, type, user_id, anonymous_id,"
                    " previous_id, name, ts, received_at, payload) VALUES (:m, :t, :u, :a, :p,"
                    " :n, :ts, :ts, :payload)"
                ),
                {
                    "m": message_id,
                    "t": kind,
                    "u": user,
                    "a": anon,
                    "p": prev,
                    "n": name,
                    "ts": "2026-05-04 10:30:00+00:00",
                    "payload": json.dumps(payload),
                },
            )
    engine.dispose()
    database = Database(url)
    database.upgrade()
    assert waiting_messages(database) == 3
    warehouse = Warehouse(settings)
    warehouse.init()
    assert flush_inbox(settings, database, warehouse) == 3
    with warehouse.reader() as con:
        events = con.table("events").order_by("event_id").execute()
        users = con.table("users").execute()
        identities = con.table("identities").execute()
    assert events.event_id.tolist() == ["a1", "a2", "a3"]
    assert [json.loads(p) for p in events.properties] == [
        {"sku": "S1"},
        {"country": "FR"},
        {"group_id": "acme", "seats": 3},
    ]
    assert str(events.ts.iloc[0]) == "2026-05-04 10:30:00+00:00"
    assert users.country.tolist() == ["FR"]
    assert identities[["alias_id", "user_id"]].values.tolist() == [["anon", "u1"]]
