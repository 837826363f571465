"""A small shop for campaign tests: users in the warehouse, contacts and consent in the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import insert

from tenure.campaigns.channels.base import Sender
from tenure.campaigns.dispatch import Dispatcher
from tenure.campaigns.models import Enrollment
from tenure.campaigns.service import campaigns, contacts
from tenure.campaigns.service.links import Links
from tenure.config import Settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday
KEY = b"k" * 32


def user_ids(n: int) -> list[str]:
    """u000, u001, …"""
    return [f"u{i:03d}" for i in range(n)]


def add_users(
    warehouse: Warehouse, ids: list[str], orders: dict[str, datetime] | None = None
) -> None:
    """Users with a first name (Chinese for odd ids), and one paid order each where given."""
    users = pd.DataFrame({
        "user_id": ids,
        "first_seen": pd.Timestamp("2025-01-01", tz="UTC"),
        "signup_at": pd.Timestamp("2025-01-01", tz="UTC"),
        "channel": "web", "country": "CN",
        "attributes": [json.dumps({"first_name": "小明" if i % 2 else "Ann"}, ensure_ascii=False)
                       for i in range(len(ids))],
    })  # fmt: skip
    with warehouse.writer() as writer:
        writer.upsert("users", pa.Table.from_pandas(users, preserve_index=False))
        if orders:
            frame = pd.DataFrame({
                "order_id": [f"o-{u}" for u in orders], "user_id": list(orders),
                "ts": [pd.Timestamp(t) for t in orders.values()], "status": "paid",
                "amount": 10.0, "currency": "CNY", "channel": "web",
            })  # fmt: skip
            writer.upsert("orders", pa.Table.from_pandas(frame, preserve_index=False))


def reachable(database: Database, ids: list[str], channel: str = "email", locale: str = "en",
              zone: str = "Asia/Shanghai") -> None:  # fmt: skip
    """Give users an address and opt-in consent on a channel."""
    field = {"email": "email", "sms": "phone", "push": "push_token"}[channel]

    def work(session: Any) -> None:
        for user in ids:
            address = f"{user}@example.com" if channel == "email" else f"+86138{user[1:]:0>8}"
            contacts.upsert_contact(
                session, user, {field: address, "locale": locale, "timezone": zone}, NOW
            )
            contacts.set_consent(session, user, channel, "opted_in", "signup_form", NOW)

    database.write(work)


def campaign_doc(key: str = "welcome", **overrides: Any) -> dict[str, Any]:
    """A one-step e-mail campaign to everyone, with English and Chinese content."""
    doc: dict[str, Any] = {
        "key": key, "name": "Welcome", "holdout": 0.0, "global_control": False,
        "steps": [{
            "id": "hello", "type": "send", "channel": "email",
            "content": {
                "subject": {"en": "Hello {{ user.first_name }}", "zh-CN": "你好 {{ user.first_name }}"},
                "text": {"en": "Welcome, {{ user.first_name }}!", "zh-CN": "欢迎，{{ user.first_name }}！"},
                "html": "<p>Welcome <a href=\"https://shop.example/new\">new in</a></p>",
            },
        }],
    }  # fmt: skip
    doc.update(overrides)
    return doc


def start(database: Database, doc: dict[str, Any], now: datetime = NOW) -> None:
    """Save and start a campaign."""
    database.write(lambda s: campaigns.create(s, doc, now))
    database.write(lambda s: campaigns.transition(s, doc["key"], "start", now))


def dispatcher(settings: Settings, database: Database, warehouse: Warehouse,
               senders: dict[str, Sender], worker: str = "w1") -> Dispatcher:  # fmt: skip
    """An engine over the test stores."""
    return Dispatcher(
        settings, database, warehouse, senders, Links(KEY, "http://t.example"), worker
    )


def add_events(warehouse: Warehouse, rows: list[tuple[str, str, str, datetime]]) -> None:
    """Tracked events: (event_id, user_id, name, ts)."""
    frame = pd.DataFrame({
        "event_id": [r[0] for r in rows], "type": "track", "user_id": [r[1] for r in rows],
        "name": [r[2] for r in rows], "ts": [pd.Timestamp(r[3]) for r in rows],
        "properties": "{}", "received_at": [pd.Timestamp(r[3]) for r in rows],
    })  # fmt: skip
    with warehouse.writer() as writer:
        writer.upsert("events", pa.Table.from_pandas(frame, preserve_index=False))


def add_orders(warehouse: Warehouse, rows: list[tuple[str, str, datetime]]) -> None:
    """Paid orders: (order_id, user_id, ts)."""
    frame = pd.DataFrame({
        "order_id": [r[0] for r in rows], "user_id": [r[1] for r in rows],
        "ts": [pd.Timestamp(r[2]) for r in rows], "status": "paid", "amount": 10.0,
        "currency": "CNY", "channel": "web",
    })  # fmt: skip
    with warehouse.writer() as writer:
        writer.upsert("orders", pa.Table.from_pandas(frame, preserve_index=False))


def enter_treated(
    database: Database, key: str, truth: pd.DataFrame, at: datetime, attribution_days: int
) -> None:
    """A finished campaign whose treatment arm is the simulator's treated users and whose
    holdout is the rest (`truth`: user_id, treated), all entered at `at`."""
    doc = {"key": key, "name": key.title(), "attribution_days": attribution_days,
           "steps": [{"id": "done", "type": "exit"}]}  # fmt: skip
    database.write(lambda s: campaigns.create(s, doc, at))
    rows = [
        {
            "campaign_key": key,
            "version": 1,
            "user_id": str(u),
            "entry_no": 1,
            "source": "run:once",
            "arm": "treatment" if t else "holdout",
            "state": "done",
            "step_id": "exit",
            "next_at": at,
            "entered_at": at,
            "finished_at": at,
            "reason": "completed",
            "coupon_code": None,
        }
        for u, t in zip(truth["user_id"], truth["treated"], strict=True)
    ]
    database.write(lambda s: s.execute(insert(Enrollment), rows))
