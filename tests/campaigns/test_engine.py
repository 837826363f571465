"""The engine end to end: audience, arms, journey steps, guardrails and SMTP delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tenure.campaigns.channels.email import SmtpSender
from tenure.campaigns.models import Decision, Enrollment, Message
from tenure.campaigns.service import campaigns, contacts
from tenure.config import Settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import (
    NOW,
    add_users,
    campaign_doc,
    dispatcher,
    reachable,
    start,
    user_ids,
)
from tests.campaigns.smtp_sink import SmtpSink


@pytest.fixture
def shop(settings: Settings) -> Settings:
    return settings.model_copy(update={"timezone": "Asia/Shanghai"})


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


def _decisions(database: Database, action: str | None = None) -> list[Decision]:
    stmt = select(Decision).order_by(Decision.id)
    if action:
        stmt = stmt.where(Decision.action == action)
    return database.read(lambda s: list(s.scalars(stmt)))


def _messages(database: Database) -> list[Message]:
    return database.read(lambda s: list(s.scalars(select(Message).order_by(Message.user_id))))


class TestOneOffSend:
    def test_each_reachable_user_gets_one_message_in_their_language(
        self, shop: Settings, database: Database, warehouse: Warehouse, sink: SmtpSink
    ) -> None:
        ids = user_ids(6)
        add_users(warehouse, ids)
        reachable(database, ids[:4])
        reachable(database, ["u001"], locale="zh-CN")
        database.write(
            lambda s: contacts.upsert_contact(s, "u004", {"email": "u004@example.com"}, NOW)
        )
        start(database, campaign_doc())
        engine = dispatcher(
            shop, database, warehouse, {"email": SmtpSender(sink.url, "shop@example.com")}
        )

        first = engine.run_once(NOW)
        again = engine.run_once(NOW + timedelta(minutes=1))

        assert (first.entered, first.sent, again.entered, again.sent) == (6, 4, 0, 0)
        subjects = {str(m["To"]): str(m["Subject"]) for m in sink.messages}
        assert subjects == {
            "u000@example.com": "Hello Ann", "u001@example.com": "你好 小明",
            "u002@example.com": "Hello Ann", "u003@example.com": "Hello 小明",
        }  # fmt: skip
        skipped = {(d.user_id, d.reason) for d in _decisions(database, "skipped")}
        assert skipped == {("u004", "no_consent"), ("u005", "no_address")}
        assert all(m["List-Unsubscribe"] for m in sink.messages)

    def test_held_out_users_walk_the_journey_and_get_nothing(
        self, shop: Settings, database: Database, warehouse: Warehouse, sink: SmtpSink
    ) -> None:
        ids = user_ids(60)
        add_users(warehouse, ids)
        reachable(database, ids)
        start(database, campaign_doc(holdout=0.3))
        engine = dispatcher(
            shop, database, warehouse, {"email": SmtpSender(sink.url, "s@example.com")}
        )

        engine.run_once(NOW)

        arms = database.read(lambda s: {e.user_id: e.arm for e in s.scalars(select(Enrollment))})
        held = {d.user_id for d in _decisions(database, "held_out")}
        treated = {u for u, a in arms.items() if a == "treatment"}
        assert held == {u for u, a in arms.items() if a == "holdout"} and 8 <= len(held) <= 30
        assert {str(m["To"]).split("@")[0] for m in sink.messages} == treated


class TestGuardrails:
    def test_the_higher_priority_campaign_wins_the_last_slot_and_the_other_is_deferred(
        self, shop: Settings, database: Database, warehouse: Warehouse, sink: SmtpSink
    ) -> None:
        add_users(warehouse, ["u000"])
        reachable(database, ["u000"])
        start(database, campaign_doc("low", priority=20))
        start(database, campaign_doc("high", priority=80))
        engine = dispatcher(
            shop, database, warehouse, {"email": SmtpSender(sink.url, "s@example.com")}
        )

        engine.run_once(NOW)

        by_campaign = {m.campaign_key: m for m in _messages(database)}
        assert by_campaign["high"].status == "sent" and by_campaign["low"].status == "queued"
        # Next local day (Shanghai) after quiet hours end at 09:00: 2026-06-02 01:00 UTC.
        deferred = _decisions(database, "deferred")
        assert [(d.campaign_key, d.until) for d in deferred] == [
            ("low", datetime(2026, 6, 2, 1, 0, tzinfo=UTC))
        ]
        assert len(sink.messages) == 1
        engine.run_once(datetime(2026, 6, 2, 1, 0, tzinfo=UTC))
        assert len(sink.messages) == 2

    def test_a_message_due_in_quiet_hours_waits_for_the_morning(
        self, shop: Settings, database: Database, warehouse: Warehouse, sink: SmtpSink
    ) -> None:
        add_users(warehouse, ["u000"])
        reachable(database, ["u000"])
        late = datetime(2026, 6, 1, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
        start(database, campaign_doc(), late)
        engine = dispatcher(
            shop, database, warehouse, {"email": SmtpSender(sink.url, "s@example.com")}
        )

        engine.run_once(late)

        assert sink.messages == []
        assert [(d.reason, d.until) for d in _decisions(database, "deferred")] == [
            ("quiet_hours", datetime(2026, 6, 2, 1, 0, tzinfo=UTC))
        ]


class TestJourney:
    def test_users_wait_then_branch_on_ordering_and_keep_their_version(
        self, shop: Settings, database: Database, warehouse: Warehouse, sink: SmtpSink
    ) -> None:
        add_users(warehouse, ["u000", "u001"], orders={"u001": NOW + timedelta(hours=5)})
        reachable(database, ["u000", "u001"])
        doc = campaign_doc(steps=[
            {"id": "wait", "type": "wait", "duration": "1d"},
            {"id": "check", "type": "branch", "condition": {"ordered": True}, "then": "thanks", "else": "nudge"},
            {"id": "thanks", "type": "tag", "tag": "converted", "next": "exit"},
            {"id": "nudge", "type": "send", "channel": "inbox", "content": {"title": "Miss you", "text": "Come back, {{ user.first_name }}"}},
        ])  # fmt: skip
        start(database, doc)
        engine = dispatcher(shop, database, warehouse, {})
        engine.run_once(NOW)
        changed = dict(doc, name="Welcome v2")
        database.write(lambda s: campaigns.update(s, "welcome", changed, NOW, expected=1))

        engine.run_once(NOW + timedelta(days=1, minutes=1))

        rows = database.read(
            lambda s: {e.user_id: (e.state, e.version) for e in s.scalars(select(Enrollment))}
        )
        assert rows == {"u000": ("done", 1), "u001": ("done", 1)}
        assert {d.user_id for d in _decisions(database, "tagged")} == {"u001"}
        items = database.read(lambda s: contacts.inbox(s, "u000", NOW + timedelta(days=2)))
        assert [(i.title, i.body) for i in items] == [("Miss you", "Come back, Ann")]
        assert database.read(lambda s: contacts.inbox(s, "u001", NOW + timedelta(days=2))) == []


class TestWarehouseEvents:
    def test_deliveries_and_opens_reach_the_warehouse_attributed_to_the_step(
        self, shop: Settings, database: Database, warehouse: Warehouse, sink: SmtpSink
    ) -> None:
        from tenure.ingest.tracking.flush import flush_inbox

        add_users(warehouse, ["u000"])
        reachable(database, ["u000"])
        start(database, campaign_doc())
        engine = dispatcher(
            shop, database, warehouse, {"email": SmtpSender(sink.url, "s@example.com")}
        )
        engine.run_once(NOW)
        sent = _messages(database)[0]
        database.write(lambda s: contacts.track(s, sent.id, "opened", NOW + timedelta(hours=1)))
        database.write(lambda s: contacts.track(s, sent.id, "opened", NOW + timedelta(hours=2)))

        flush_inbox(shop, database, warehouse)

        with warehouse.reader() as con:
            events = con.table("events").execute().sort_values("name")
        assert list(events.name) == ["Email Delivered", "Email Opened"]
        properties = [json.loads(p) for p in events.properties]
        assert {(p["campaign"], p["step"], p["channel"], p["message_id"]) for p in properties} == {
            ("welcome", "hello", "email", sent.id)
        }
