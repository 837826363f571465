"""The audience-wide opening (service/opening.py) equals walking each user through the steps."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tenure.campaigns.models import Decision, Enrollment, Message
from tenure.campaigns.repository import insert_enrollments
from tenure.campaigns.service import campaigns, contacts
from tenure.campaigns.service.enroll import Arrival, enroll
from tenure.config import Settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import NOW, add_users, dispatcher, user_ids

STEPS = [
    {"id": "mail", "type": "send", "channel": "email", "content": {"text": "a"}},
    {"id": "sms", "type": "send", "channel": "sms", "content": {"text": "b"}},
    {"id": "note", "type": "send", "channel": "inbox", "content": {"text": "c"}},
    {"id": "wait", "type": "wait", "duration": "2d"},
    {"id": "again", "type": "send", "channel": "email", "content": {"text": "d"}},
]


def _doc(key: str, consent: str, leave: bool) -> dict[str, Any]:
    return {"key": key, "name": key, "holdout": 0.3, "consent": consent, "steps": STEPS,
            "exits": {"on_unsubscribe": leave}}  # fmt: skip


def _shop(database: Database, ids: list[str]) -> None:
    rng = random.Random(4)

    def work(session: Any) -> None:
        for user in ids:
            values = {}
            if rng.random() < 0.8:
                values["email"] = f"{user}@example.com"
            if rng.random() < 0.5:
                values["phone"] = f"+8613{rng.randrange(10**9):09d}"
            if values:
                contacts.upsert_contact(
                    session, user, values | {"locale": rng.choice(["en", "zh-CN"])}, NOW
                )
            for channel in ("email", "sms"):
                state = rng.choice(["opted_in", "opted_in", "opted_out", None])
                if state:
                    contacts.set_consent(session, user, channel, state, "form", NOW)
            if "email" in values and rng.random() < 0.1:
                contacts.suppress(session, "email", values["email"], "hard_bounce", NOW)

    database.write(work)


def _outcome(database: Database, key: str) -> tuple[list[Any], list[Any], list[Any]]:
    def work(s: Any) -> tuple[list[Any], list[Any], list[Any]]:
        e = s.execute(select(Enrollment.user_id, Enrollment.arm, Enrollment.state, Enrollment.step_id,
                             Enrollment.next_at, Enrollment.reason).where(Enrollment.campaign_key == key))  # fmt: skip
        m = s.execute(select(Message.user_id, Message.step_id, Message.channel, Message.address,
                             Message.status, Message.locale, Message.expires_at).where(Message.campaign_key == key))  # fmt: skip
        d = s.execute(select(Decision.user_id, Decision.step_id, Decision.action, Decision.reason)
                      .where(Decision.campaign_key == key))  # fmt: skip
        return sorted(map(tuple, e)), sorted(map(tuple, m)), sorted(map(tuple, d), key=repr)

    return database.read(work)


@pytest.mark.parametrize(
    ("consent", "leave"), [("opt_in", True), ("opt_in", False), ("not_opted_out", False)]
)
def test_the_opening_equals_the_step_by_step_walk(
    settings: Settings, database: Database, warehouse: Warehouse, consent: str, leave: bool
) -> None:
    ids = user_ids(300)
    add_users(warehouse, ids)
    _shop(database, ids)
    for key in ("bulk", "walk"):
        database.write(lambda s, k=key: campaigns.create(s, _doc(k, consent, leave), NOW))
    arrivals = [Arrival(u, "run:once", NOW) for u in ids]
    database.write(lambda s: enroll(s, campaigns.document_of(s, "bulk", 1), 1, arrivals, NOW, 0.05))
    arms = {u: a for u, a, *_ in _outcome(database, "bulk")[0]}
    rows = [
        {
            "campaign_key": "walk",
            "version": 1,
            "user_id": u,
            "entry_no": 1,
            "source": "run:once",
            "arm": arms[u],
            "state": "active",
            "step_id": "mail",
            "next_at": NOW,
            "entered_at": NOW,
            "finished_at": None,
            "reason": None,
            "coupon_code": None,
        }
        for u in ids
    ]
    database.write(lambda s: insert_enrollments(s, rows))
    dispatcher(settings, database, warehouse, {}).advance(NOW)

    bulk, walk = _outcome(database, "bulk"), _outcome(database, "walk")

    assert bulk == walk
    enrolled, messages, decisions = bulk
    assert {a for _, a, *_ in enrolled} == {"treatment", "holdout", "control"}
    expected = {"no_address", "suppressed"} | ({"unsubscribed"} if leave else {"opted_out"})
    expected |= {"no_consent"} if consent == "opt_in" else set()
    assert {r for *_, r in decisions} >= expected
    assert all(
        at == NOW + timedelta(days=2) for _, _, state, _, at, _ in enrolled if state == "active"
    )
    assert messages
