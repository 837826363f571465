"""Triggers: cart abandonment, first order, lifecycle moves, segment entry, birthdays, holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import select

from tenure.campaigns.models import Enrollment
from tenure.config import Settings
from tenure.segments import service as segments
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import (
    NOW,
    add_events,
    add_orders,
    add_users,
    campaign_doc,
    dispatcher,
    start,
    user_ids,
)

EXIT = [{"id": "done", "type": "exit"}]


@pytest.fixture
def shop(settings: Settings) -> Settings:
    return settings.model_copy(update={"timezone": "Asia/Shanghai"})


def _entered(database: Database) -> list[tuple[str, str, datetime]]:
    stmt = select(Enrollment.user_id, Enrollment.source, Enrollment.next_at).order_by(
        Enrollment.user_id, Enrollment.source
    )
    return database.read(lambda s: [tuple(r) for r in s.execute(stmt)])  # type: ignore[misc]


def test_cart_abandonment_enters_only_carts_without_an_order_within_4_hours(
    shop: Settings, database: Database, warehouse: Warehouse
) -> None:
    t = NOW + timedelta(minutes=5)
    add_users(warehouse, user_ids(3))
    add_events(warehouse, [("e0", "u000", "Product Added", t), ("e1", "u001", "Product Added", t),
                           ("e2", "u002", "Product Added", t)])  # fmt: skip
    add_orders(
        warehouse, [("o1", "u001", t + timedelta(hours=1)), ("o2", "u002", t + timedelta(hours=5))]
    )
    trigger = {
        "type": "event",
        "event": "Product Added",
        "unless": "Order Completed",
        "within": "4h",
    }
    start(database, campaign_doc(trigger=trigger, steps=EXIT))
    engine = dispatcher(shop, database, warehouse, {})

    engine.run_entries(t + timedelta(hours=3))
    assert _entered(database) == []
    engine.run_entries(t + timedelta(hours=4, minutes=1))
    engine.run_entries(t + timedelta(hours=6))

    assert [(u, s) for u, s, _ in _entered(database)] == [
        ("u000", "event:e0"),
        ("u002", "event:e2"),
    ]


def test_first_order_enters_once_and_ignores_orders_before_the_start(
    shop: Settings, database: Database, warehouse: Warehouse
) -> None:
    add_users(warehouse, user_ids(2))
    add_orders(warehouse, [
        ("old", "u000", NOW - timedelta(days=30)),  # before the campaign: u000 is not new
        ("a", "u000", NOW + timedelta(minutes=10)),
        ("b", "u001", NOW + timedelta(minutes=10)), ("c", "u001", NOW + timedelta(minutes=20)),
    ])  # fmt: skip
    trigger = {"type": "event", "event": "order", "first_order": True}
    start(database, campaign_doc(trigger=trigger, steps=EXIT))
    engine = dispatcher(shop, database, warehouse, {})

    for minutes in (15, 30, 45):
        engine.run_entries(NOW + timedelta(minutes=minutes))

    assert [(u, s) for u, s, _ in _entered(database)] == [("u001", "event:b")]


def test_a_move_to_at_risk_enters_and_earlier_moves_do_not(
    shop: Settings, database: Database, warehouse: Warehouse
) -> None:
    add_users(warehouse, user_ids(3))
    stages = pd.DataFrame({"user_id": ["u000"], "stage": ["at_risk"], "since": [date(2026, 5, 1)]})
    database.write(lambda s: segments.record_stages(s, stages))
    start(database, campaign_doc(trigger={"type": "lifecycle", "to": "at_risk"}, steps=EXIT))
    engine = dispatcher(shop, database, warehouse, {})
    engine.run_entries(NOW)  # the cursor starts after what was recorded before
    database.write(lambda s: segments.record_stages(s, pd.DataFrame(
        {"user_id": ["u001", "u002"], "stage": ["at_risk", "active"], "since": [date(2026, 6, 1)] * 2})))  # fmt: skip

    engine.run_entries(NOW + timedelta(minutes=2))

    assert [u for u, _, _ in _entered(database)] == ["u001"]


def test_segment_entry_takes_users_who_join_after_the_start(
    shop: Settings, database: Database, warehouse: Warehouse
) -> None:
    add_users(warehouse, user_ids(3))
    database.write(
        lambda s: segments.create_segment(
            s, "vip", {"field": "user.country", "op": "eq", "value": "CN"}
        )
    )
    database.write(lambda s: segments.apply_refresh(s, "vip", ["u000"], NOW))
    start(database, campaign_doc(trigger={"type": "segment_entry", "segment": "vip"}, steps=EXIT))
    engine = dispatcher(shop, database, warehouse, {})
    engine.run_entries(NOW)
    database.write(
        lambda s: segments.apply_refresh(s, "vip", ["u000", "u002"], NOW + timedelta(minutes=1))
    )

    engine.run_entries(NOW + timedelta(minutes=2))

    assert [u for u, _, _ in _entered(database)] == ["u002"]


def test_birthdays_enter_at_ten_local_and_29_february_is_kept_on_the_28th(
    shop: Settings, database: Database, warehouse: Warehouse
) -> None:
    users = pd.DataFrame({
        "user_id": ["u000", "u001", "u002"], "first_seen": pd.Timestamp("2020-01-01", tz="UTC"),
        "signup_at": pd.Timestamp("2020-01-01", tz="UTC"), "channel": "web", "country": "CN",
        "birthday": [date(1990, 3, 3), date(1992, 2, 29), date(1990, 3, 4)], "attributes": "{}",
    })  # fmt: skip
    with warehouse.writer() as writer:
        writer.upsert("users", pa.Table.from_pandas(users, preserve_index=False))
    started = datetime(2027, 2, 27, 16, 30, tzinfo=UTC)  # 00:30 on 28 Feb 2027 in Shanghai
    start(
        database,
        campaign_doc(trigger={"type": "date", "attribute": "birthday"}, steps=EXIT),
        started,
    )
    engine = dispatcher(shop, database, warehouse, {})

    engine.run_entries(started)
    engine.run_entries(datetime(2027, 3, 2, 17, 0, tzinfo=UTC))  # 01:00 on 3 March in Shanghai

    assert _entered(database) == [
        ("u000", "birthday:2027-03-03", datetime(2027, 3, 3, 2, 0, tzinfo=UTC)),
        ("u001", "birthday:2027-02-28", datetime(2027, 2, 28, 2, 0, tzinfo=UTC)),
    ]


def test_a_holiday_campaign_enters_its_audience_the_day_before_singles_day(
    shop: Settings, database: Database, warehouse: Warehouse
) -> None:
    add_users(warehouse, user_ids(2))
    trigger = {"type": "holiday", "holiday": "singles_day", "offset_days": -1, "at": "20:00"}
    started = datetime(2026, 11, 8, 0, 0, tzinfo=UTC)
    start(database, campaign_doc(trigger=trigger, steps=EXIT), started)
    engine = dispatcher(shop, database, warehouse, {})

    for day in (8, 9, 10, 11):
        engine.run_entries(datetime(2026, 11, day, 1, 0, tzinfo=UTC))

    assert _entered(database) == [
        (u, "holiday:singles_day:2026-11-11", datetime(2026, 11, 10, 12, 0, tzinfo=UTC))
        for u in ("u000", "u001")
    ]


def test_a_tier_upgrade_after_the_start_enters_the_member(
    shop: Settings, database: Database, warehouse: Warehouse
) -> None:
    from tenure.loyalty import orders
    from tests.loyalty.builders import UTC_ZONE, configure, write
    from tests.loyalty.test_tiers import TIERS

    add_users(warehouse, ["u1"])
    configure(database, tiers=TIERS)

    def pay(order: str, amount: int, at: datetime) -> None:
        write(database, lambda s, p: orders.order_paid(
            s, p, UTC_ZONE, user_id="u1", order_id=order, amount_minor=amount, currency="USD",
            paid_at=at, now=at))  # fmt: skip

    pay("o1", 30_000, NOW - timedelta(days=1))  # → member, before the campaign
    start(database, campaign_doc(trigger={"type": "loyalty", "moment": "tier_up"}, steps=EXIT))
    engine = dispatcher(shop, database, warehouse, {})
    engine.run_entries(NOW)
    pay("o2", 25_000, NOW + timedelta(minutes=1))  # → silver

    engine.run_entries(NOW + timedelta(minutes=2))

    assert [(u, s.split(":")[0]) for u, s, _ in _entered(database)] == [("u1", "tier_up")]
