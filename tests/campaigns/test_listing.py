"""The console's reads: a page of campaigns with their channels, and the planned days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tenure.campaigns.service import calendar, campaigns
from tenure.storage.database import Database
from tests.campaigns.builders import NOW, campaign_doc

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXIT = [{"id": "x", "type": "exit"}]


def _create(database: Database, doc: dict[str, object], at: datetime = NOW) -> None:
    database.write(lambda s: campaigns.create(s, doc, at))


def test_a_page_of_campaigns_names_their_channels_newest_first(database: Database) -> None:
    _create(database, campaign_doc("older"), datetime(2026, 5, 1, tzinfo=UTC))
    inbox = {"id": "note", "type": "send", "channel": "inbox", "content": {"text": "Hi"}}
    _create(database, campaign_doc("newer", steps=[*campaign_doc()["steps"], inbox]))
    _create(database, campaign_doc("quiet", steps=EXIT), datetime(2026, 4, 1, tzinfo=UTC))
    database.write(lambda s: campaigns.transition(s, "older", "start", NOW))

    listed, total = database.read(lambda s: campaigns.listing_page(s, limit=2))
    assert total == 3
    assert [(c.row.key, c.channels) for c in listed] == [
        ("newer", ("email", "inbox")),
        ("older", ("email",)),
    ]
    rest, _ = database.read(lambda s: campaigns.listing_page(s, offset=2, limit=2))
    assert [(c.row.key, c.channels) for c in rest] == [("quiet", ())]
    active, count = database.read(lambda s: campaigns.listing_page(s, status="active"))
    assert [c.row.key for c in active] == ["older"] and count == 1


def test_planned_days_follow_holidays_one_offs_crons_and_member_days(database: Database) -> None:
    holiday = {"type": "holiday", "holiday": "singles_day", "offset_days": -1}
    _create(database, campaign_doc("eve", trigger=holiday, steps=EXIT))
    once = {"type": "once", "at": "2026-11-30T20:00:00Z"}  # 1 December in Shanghai
    _create(database, campaign_doc("once", trigger=once, steps=EXIT))
    weekly = {"type": "recurring", "cron": "0 10 * * 1"}  # Mondays
    _create(database, campaign_doc("weekly", trigger=weekly, steps=EXIT))
    member = {"type": "date", "attribute": "member_day", "day_of_month": 18}
    _create(database, campaign_doc("member", trigger=member, steps=EXIT))
    _create(database, campaign_doc("signup", trigger={"type": "event", "event": "x"}, steps=EXIT))
    _create(database, campaign_doc("done", trigger=holiday, steps=EXIT))
    database.write(lambda s: campaigns.transition(s, "done", "finish", NOW))

    found = database.read(
        lambda s: campaigns.scheduled(s, date(2026, 11, 1), date(2026, 12, 1), SHANGHAI)
    )
    assert [(d.day, d.key) for d in found] == [
        (date(2026, 11, 2), "weekly"),
        (date(2026, 11, 9), "weekly"),
        (date(2026, 11, 10), "eve"),
        (date(2026, 11, 16), "weekly"),
        (date(2026, 11, 18), "member"),
        (date(2026, 11, 23), "weekly"),
        (date(2026, 11, 30), "weekly"),
        (date(2026, 12, 1), "once"),
    ]
    eve = next(d for d in found if d.key == "eve")
    assert (eve.holiday, eve.trigger, eve.status) == ("singles_day", "holiday", "draft")
    assert (
        database.read(
            lambda s: campaigns.scheduled(s, date(2026, 12, 2), date(2026, 12, 1), SHANGHAI)
        )
        == []
    )


def test_the_calendar_between_two_days_reads_the_seed_without_writing(database: Database) -> None:
    found = database.read(lambda s: calendar.between(s, date(2026, 11, 1), date(2026, 12, 31)))
    assert [(d.key, d.day) for d in found] == [
        ("singles_day", date(2026, 11, 11)),
        ("double_12", date(2026, 12, 12)),
        ("christmas", date(2026, 12, 25)),
    ]
    assert database.read(lambda s: calendar.between(s, date(2000, 1, 1), date(2001, 1, 1))) == []
    database.write(lambda s: calendar.set_day(s, "shop_day", date(2026, 11, 20), "Shop", "店庆"))
    edited = database.read(lambda s: calendar.between(s, date(2026, 11, 1), date(2026, 11, 30)))
    assert [d.key for d in edited] == ["singles_day", "shop_day"]
