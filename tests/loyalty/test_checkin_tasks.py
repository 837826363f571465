"""Daily check-in streaks in the shop's zone, one-off tasks and per-action caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tenure.loyalty import points, tasks
from tenure.loyalty.checkin import service as checkin
from tenure.loyalty.errors import (
    ActionUnknown,
    CheckinAlreadyDone,
    EarnCapReached,
    TaskAlreadyCompleted,
    TaskUnknown,
)
from tenure.storage.database import Database
from tests.loyalty.builders import T0, UTC_ZONE, balances, configure, read, write

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _check_in(database: Database, at: datetime, zone: ZoneInfo = UTC_ZONE, user: str = "u1"):  # type: ignore[no-untyped-def]
    return write(database, lambda s, p: checkin.check_in(s, p, zone, user, at))


class TestCheckin:
    def test_consecutive_days_climb_the_ladder_and_cycle(self, database: Database) -> None:
        configure(database, checkin_ladder=[5, 10, 20], checkin_cycle=True)
        got = [_check_in(database, T0 + timedelta(days=d)) for d in range(4)]
        assert [(c.streak, c.points) for c in got] == [(1, 5), (2, 10), (3, 20), (4, 5)]
        assert balances(database, "u1").available == 40

    def test_the_ladder_can_hold_at_its_last_step(self, database: Database) -> None:
        configure(database, checkin_ladder=[5, 10], checkin_cycle=False)
        got = [_check_in(database, T0 + timedelta(days=d)).points for d in range(4)]
        assert got == [5, 10, 10, 10]

    def test_a_missed_day_restarts_the_streak(self, database: Database) -> None:
        configure(database, checkin_ladder=[5, 10, 20])
        _check_in(database, T0)
        _check_in(database, T0 + timedelta(days=1))
        again = _check_in(database, T0 + timedelta(days=3))
        assert (again.streak, again.points) == (1, 5)

    def test_one_check_in_per_local_day_in_the_shop_zone(self, database: Database) -> None:
        configure(database, checkin_ladder=[5, 10, 20])
        # 15:00 UTC is 23:00 in Shanghai; 16:30 UTC is already the next day there.
        first = _check_in(database, datetime(2026, 3, 10, 15, 0, tzinfo=UTC), SHANGHAI)
        second = _check_in(database, datetime(2026, 3, 10, 16, 30, tzinfo=UTC), SHANGHAI)
        assert (str(first.local_date), str(second.local_date), second.streak) == (
            "2026-03-10", "2026-03-11", 2,
        )  # fmt: skip
        with pytest.raises(CheckinAlreadyDone) as caught:
            _check_in(database, datetime(2026, 3, 10, 20, 0, tzinfo=UTC), SHANGHAI)
        assert caught.value.data == {"date": "2026-03-11", "streak": 2, "points": 10}

    def test_the_calendar_shows_the_month_the_streak_and_the_next_reward(
        self, database: Database
    ) -> None:
        configure(database, checkin_ladder=[5, 10, 20])
        _check_in(database, datetime(2026, 3, 30, 9, tzinfo=UTC))
        _check_in(database, datetime(2026, 3, 31, 9, tzinfo=UTC))
        now = datetime(2026, 3, 31, 18, tzinfo=UTC)
        cal = read(database, lambda s, p: checkin.month_calendar(s, p, UTC_ZONE, "u1", now))
        checked = [d["date"] for d in cal.days if d["checked_in"]]
        assert (len(cal.days), checked) == (31, ["2026-03-30", "2026-03-31"])
        assert (cal.streak, cal.checked_in_today, cal.next_points) == (2, True, 20)


class TestTasks:
    def test_a_task_awards_its_points_once(self, database: Database) -> None:
        configure(database, tasks={"invite_friend": {"title": "Invite", "points": 100}})
        write(database, lambda s, p: tasks.complete(s, p, "u1", "invite_friend", T0))
        with pytest.raises(TaskAlreadyCompleted):
            write(database, lambda s, p: tasks.complete(s, p, "u1", "invite_friend", T0))
        states = read(database, lambda s, p: tasks.list_tasks(s, p, "u1"))
        assert [(t.code, t.completed_at) for t in states] == [("invite_friend", T0)]
        assert balances(database, "u1").available == 100

    def test_an_unknown_task_is_not_found(self, database: Database) -> None:
        configure(database)
        with pytest.raises(TaskUnknown) as caught:
            write(database, lambda s, p: tasks.complete(s, p, "u1", "nope", T0))
        assert caught.value.status == 404


def _act(database: Database, action: str, key: str, at: datetime = T0) -> points.Outcome:
    return write(database, lambda s, p: points.earn_action(s, p, UTC_ZONE, "u1", action, key, at))


class TestActionCaps:
    def test_a_daily_cap_stops_the_fourth_review_until_the_next_day(
        self, database: Database
    ) -> None:
        configure(database, actions={"review": {"points": 20, "max_per_day": 3}})
        for i in range(3):
            _act(database, "review", f"r{i}", T0 + timedelta(hours=i))
        with pytest.raises(EarnCapReached) as caught:
            _act(database, "review", "r3", T0 + timedelta(hours=4))
        assert caught.value.data == {"action": "review", "cap": 3, "period": "day", "count": 3}
        _act(database, "review", "r4", T0 + timedelta(days=1))
        assert balances(database, "u1").available == 80

    def test_sign_up_pays_once_in_a_lifetime(self, database: Database) -> None:
        configure(database, actions={"signup": {"points": 100, "max_per_period": 1}})
        _act(database, "signup", "s1")
        with pytest.raises(EarnCapReached):
            _act(database, "signup", "s2", T0 + timedelta(days=400))

    def test_a_daily_points_cap_trims_then_stops_action_earning(self, database: Database) -> None:
        configure(
            database,
            actions={"review": {"points": 20}},
            daily_action_points_cap=50,
        )
        amounts = [_act(database, "review", f"r{i}").transaction.available_delta for i in range(3)]
        assert amounts == [20, 20, 10]
        with pytest.raises(EarnCapReached):
            _act(database, "review", "r3")

    def test_an_unknown_action_is_not_found(self, database: Database) -> None:
        configure(database)
        with pytest.raises(ActionUnknown):
            _act(database, "dance", "d1")
