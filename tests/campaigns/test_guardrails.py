"""Frequency caps and quiet hours: defer, not drop; priority arbitration; DST-exact instants."""

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tenure.campaigns.guardrails import (
    Candidate,
    Cap,
    Decision,
    Policy,
    QuietHours,
    Sent,
    arbitrate,
    next_allowed,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours(time(21, 0), time(9, 0))


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local wall-clock time in `zone` (the first occurrence when ambiguous)."""
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def candidate(
    message_id: str,
    priority: int = 50,
    *,
    channel: str = "push",
    due_at: datetime = utc(2026, 5, 4, 2, 0),
    expires_at: datetime | None = None,
    ignore_caps: bool = False,
) -> Candidate:
    return Candidate(message_id, channel, priority, due_at, expires_at, ignore_caps)


class TestQuietHours:
    def test_late_evening_defers_to_nine_the_next_local_morning(self) -> None:
        # 22:30 in Shanghai is 14:30 UTC; 09:00 on the 5th in Shanghai is 01:00 UTC.
        policy = Policy(quiet=NIGHT)
        result = next_allowed(policy, "push", SHANGHAI, [], at(SHANGHAI, 2026, 5, 4, 22, 30))
        assert result == (utc(2026, 5, 5, 1, 0), "quiet_hours")

    def test_early_morning_defers_to_nine_the_same_day_and_nine_itself_is_allowed(self) -> None:
        policy = Policy(quiet=NIGHT)
        early = next_allowed(policy, "push", SHANGHAI, [], at(SHANGHAI, 2026, 5, 5, 6, 15))
        assert early == (utc(2026, 5, 5, 1, 0), "quiet_hours")
        nine = at(SHANGHAI, 2026, 5, 5, 9, 0)
        assert next_allowed(policy, "push", SHANGHAI, [], nine) == (nine, None)

    def test_quiet_end_on_spring_forward_morning_is_in_local_time(self) -> None:
        # New York springs forward on 2026-03-08: 09:00 that day is EDT, 13:00 UTC, not 14:00.
        policy = Policy(quiet=NIGHT)
        evening = at(NEW_YORK, 2026, 3, 7, 22, 0)  # EST, 03:00 UTC on the 8th
        assert next_allowed(policy, "push", NEW_YORK, [], evening) == (
            utc(2026, 3, 8, 13, 0),
            "quiet_hours",
        )

    def test_quiet_end_inside_the_spring_forward_gap_opens_at_the_transition(self) -> None:
        # 02:30 does not exist on 2026-03-08 in New York; the clock reads past it at 03:00 EDT.
        policy = Policy(quiet=QuietHours(time(23, 0), time(2, 30)))
        result = next_allowed(policy, "push", NEW_YORK, [], at(NEW_YORK, 2026, 3, 8, 1, 45))
        assert result == (utc(2026, 3, 8, 7, 0), "quiet_hours")

    def test_quiet_end_in_the_repeated_autumn_hour_is_the_next_one_on_the_clock(self) -> None:
        # On 2026-11-01 New York reads 01:00–02:00 twice: 05:00–06:00 UTC (EDT), 06:00–07:00 (EST).
        policy = Policy(quiet=QuietHours(time(0, 0), time(1, 30)))
        first_pass = next_allowed(policy, "push", NEW_YORK, [], utc(2026, 11, 1, 4, 30))
        assert first_pass == (utc(2026, 11, 1, 5, 30), "quiet_hours")
        second_pass = next_allowed(policy, "push", NEW_YORK, [], utc(2026, 11, 1, 6, 10))
        assert second_pass == (utc(2026, 11, 1, 6, 30), "quiet_hours")

    def test_equal_bounds_are_refused(self) -> None:
        with pytest.raises(ValueError, match="different times"):
            QuietHours(time(9, 0), time(9, 0))


class TestCaps:
    def test_daily_cap_defers_to_local_midnight_then_to_the_end_of_quiet_hours(self) -> None:
        policy = Policy(caps=(Cap(1, 1),), quiet=NIGHT)
        sent = [Sent(at(SHANGHAI, 2026, 5, 4, 8, 30), "email")]  # 00:30 UTC, still the 4th
        result = next_allowed(policy, "push", SHANGHAI, sent, at(SHANGHAI, 2026, 5, 4, 15, 0))
        assert result == (utc(2026, 5, 5, 1, 0), "cap:all:1/1d")

    def test_daily_cap_without_quiet_hours_opens_at_local_midnight_across_dst(self) -> None:
        policy = Policy(caps=(Cap(1, 1),))
        before = [Sent(at(NEW_YORK, 2026, 3, 7, 10, 0), "sms")]
        assert next_allowed(policy, "sms", NEW_YORK, before, at(NEW_YORK, 2026, 3, 7, 23, 0)) == (
            utc(2026, 3, 8, 5, 0),  # midnight EST
            "cap:all:1/1d",
        )
        after = [Sent(at(NEW_YORK, 2026, 3, 8, 10, 0), "sms")]
        assert next_allowed(policy, "sms", NEW_YORK, after, at(NEW_YORK, 2026, 3, 8, 23, 0)) == (
            utc(2026, 3, 9, 4, 0),  # midnight EDT
            "cap:all:1/1d",
        )
        autumn = [Sent(at(NEW_YORK, 2026, 11, 1, 10, 0), "sms")]
        assert next_allowed(policy, "sms", NEW_YORK, autumn, at(NEW_YORK, 2026, 11, 1, 12, 0)) == (
            utc(2026, 11, 2, 5, 0),  # midnight EST, after the 25-hour day
            "cap:all:1/1d",
        )

    def test_seven_day_window_counts_local_calendar_days(self) -> None:
        # 2 per 7 days. The first send, 16:30 UTC on 04-30, is on May 1 in Shanghai; it leaves
        # the window that ends on May 7 at local midnight of May 8 (16:00 UTC on the 7th).
        policy = Policy(caps=(Cap(2, 7),))
        sent = [Sent(utc(2026, 4, 30, 16, 30), "email"), Sent(at(SHANGHAI, 2026, 5, 3, 10), "sms")]
        result = next_allowed(policy, "push", SHANGHAI, sent, at(SHANGHAI, 2026, 5, 5, 12, 0))
        assert result == (utc(2026, 5, 7, 16, 0), "cap:all:2/7d")
        # On the evening of April 30 local, only one of the two is in the window.
        allowed = at(SHANGHAI, 2026, 4, 30, 20, 0)
        assert next_allowed(policy, "push", SHANGHAI, sent, allowed) == (allowed, None)

    def test_channel_cap_blocks_its_channel_and_shared_cap_blocks_all(self) -> None:
        policy = Policy(caps=(Cap(1, 1, "email"), Cap(3, 7)))
        sent = [Sent(at(SHANGHAI, 2026, 5, 4, 10, 0), "email")]
        noon = at(SHANGHAI, 2026, 5, 4, 12, 0)
        assert next_allowed(policy, "email", SHANGHAI, sent, noon) == (
            utc(2026, 5, 4, 16, 0),
            "cap:email:1/1d",
        )
        assert next_allowed(policy, "sms", SHANGHAI, sent, noon) == (noon, None)
        busy = [
            *sent,
            Sent(at(SHANGHAI, 2026, 5, 1, 10), "sms"),
            Sent(at(SHANGHAI, 2026, 5, 2, 9), "push"),
        ]
        # Three in the week across channels: the next slot is when May 1 leaves, midnight May 8.
        assert next_allowed(policy, "sms", SHANGHAI, busy, noon) == (
            utc(2026, 5, 7, 16, 0),
            "cap:all:3/7d",
        )

    def test_a_message_leased_for_a_later_day_fills_that_day(self) -> None:
        policy = Policy(caps=(Cap(1, 1),))
        leased = [Sent(at(SHANGHAI, 2026, 5, 5, 10), "email")]
        result = next_allowed(policy, "push", SHANGHAI, leased, at(SHANGHAI, 2026, 5, 4, 23, 30))
        assert result == (at(SHANGHAI, 2026, 5, 4, 23, 30), None)
        result = next_allowed(policy, "push", SHANGHAI, leased, at(SHANGHAI, 2026, 5, 5, 8))
        assert result == (utc(2026, 5, 5, 16, 0), "cap:all:1/1d")

    @pytest.mark.parametrize(("count", "days"), [(0, 1), (1, 0), (1, 367), (-1, 7)])
    def test_impossible_caps_are_refused_when_the_policy_is_built(
        self, count: int, days: int
    ) -> None:
        with pytest.raises(ValueError, match="cap's"):
            Policy(caps=(Cap(count, days),))


class TestArbitrate:
    NOW = at(SHANGHAI, 2026, 5, 4, 10, 0)
    LAST_SLOT = Policy(caps=(Cap(2, 1),), quiet=NIGHT)
    ONE_SENT = (Sent(at(SHANGHAI, 2026, 5, 4, 8, 0), "email"),)
    TOMORROW_NINE = utc(2026, 5, 5, 1, 0)

    def decide(self, candidates: Sequence[Candidate], policy: Policy = LAST_SLOT) -> list[Decision]:
        return arbitrate(policy, SHANGHAI, self.ONE_SENT, candidates, self.NOW)

    def test_higher_priority_takes_the_last_slot_and_the_other_waits_for_the_next(self) -> None:
        decisions = self.decide([candidate("low", 10), candidate("high", 90)])
        assert decisions == [
            Decision("high", "send", utc(2026, 5, 4, 2, 0), None),
            Decision("low", "defer", self.TOMORROW_NINE, "cap:all:2/1d"),
        ]

    def test_equal_priority_goes_to_the_one_due_first_then_by_id(self) -> None:
        decisions = self.decide(
            [
                candidate("b", due_at=utc(2026, 5, 4, 1, 0)),
                candidate("c", due_at=utc(2026, 5, 4, 0, 30)),
                candidate("a", due_at=utc(2026, 5, 4, 1, 0)),
            ]
        )
        assert [(d.message_id, d.action) for d in decisions] == [
            ("c", "send"), ("a", "defer"), ("b", "defer"),
        ]  # fmt: skip

    def test_flash_sale_deferred_while_its_next_slot_is_before_the_deadline(self) -> None:
        sale = candidate("sale", 10, expires_at=at(SHANGHAI, 2026, 5, 5, 12, 0))
        decisions = self.decide([candidate("vip", 90), sale])
        assert decisions[1] == Decision("sale", "defer", self.TOMORROW_NINE, "cap:all:2/1d")

    def test_flash_sale_dropped_when_its_next_slot_is_past_the_deadline(self) -> None:
        for deadline in (at(SHANGHAI, 2026, 5, 4, 23, 59), at(SHANGHAI, 2026, 5, 5, 9, 0)):
            sale = candidate("sale", 10, expires_at=deadline)
            decisions = self.decide([candidate("vip", 90), sale])
            assert decisions[1] == Decision("sale", "drop", utc(2026, 5, 4, 2, 0), "expired")

    def test_already_expired_candidate_is_dropped_without_taking_a_slot(self) -> None:
        stale = candidate("stale", 99, expires_at=self.NOW)
        decisions = self.decide([stale, candidate("next", 10)])
        assert [(d.message_id, d.action, d.reason) for d in decisions] == [
            ("stale", "drop", "expired"), ("next", "send", None),
        ]  # fmt: skip

    def test_transactional_message_skips_caps_but_counts_against_them(self) -> None:
        receipt = candidate("receipt", 1, channel="email", ignore_caps=True)
        decisions = self.decide([candidate("promo", 90), receipt, candidate("later", 50)])
        assert [(d.message_id, d.action) for d in decisions] == [
            ("promo", "send"), ("later", "defer"), ("receipt", "send"),
        ]  # fmt: skip

    def test_transactional_message_still_waits_out_quiet_hours(self) -> None:
        receipt = candidate("receipt", channel="email", ignore_caps=True)
        night = at(SHANGHAI, 2026, 5, 4, 23, 0)
        decisions = arbitrate(self.LAST_SLOT, SHANGHAI, [], [receipt], night)
        assert decisions == [Decision("receipt", "defer", self.TOMORROW_NINE, "quiet_hours")]

    def test_candidate_not_yet_due_is_deferred_to_its_due_time(self) -> None:
        early = candidate("early", due_at=at(SHANGHAI, 2026, 5, 4, 11, 0))
        assert self.decide([early]) == [
            Decision("early", "defer", utc(2026, 5, 4, 3, 0), "not_due")
        ]


def allowed_by_definition(
    policy: Policy, channel: str, zone: ZoneInfo, sent: Sequence[Sent], instant: datetime
) -> bool:
    """The rules written plainly, as an oracle for the property test."""
    wall = instant.astimezone(zone)
    quiet = policy.quiet
    if quiet is not None:
        clock = wall.time()
        wraps = quiet.start > quiet.end
        if (
            (clock >= quiet.start or clock < quiet.end)
            if wraps
            else (quiet.start <= clock < quiet.end)
        ):
            return False
    for cap in policy.caps:
        if cap.channel not in (None, channel):
            continue
        used = sum(
            1
            for s in sent
            if cap.channel in (None, s.channel)
            and 0 <= (wall.date() - s.at.astimezone(zone).date()).days < cap.days
        )
        if used >= cap.count:
            return False
    return True


# Each zone with the days of 2026 its clocks change on: New York at 02:00, Havana at midnight,
# London at 01:00/02:00, Lord Howe by half an hour; Shanghai and UTC never.
ZONES = (
    (ZoneInfo("America/New_York"), ((2026, 3, 8), (2026, 11, 1))),
    (ZoneInfo("America/Havana"), ((2026, 3, 8), (2026, 11, 1))),
    (ZoneInfo("Europe/London"), ((2026, 3, 29), (2026, 10, 25))),
    (ZoneInfo("Australia/Lord_Howe"), ((2026, 4, 5), (2026, 10, 4))),
    (ZoneInfo("Asia/Shanghai"), ((2026, 5, 4),)),
    (ZoneInfo("UTC"), ((2026, 6, 15),)),
)


class TestNextAllowedProperty:
    def random_time(self, rng: random.Random) -> time:
        # Half of the bounds fall in the small hours, where the clock changes happen.
        hour = rng.choice([0, 1, 2, 3]) if rng.random() < 0.5 else rng.randrange(24)
        return time(hour, rng.choice([0, 0, 15, 30, 45, rng.randrange(60)]))

    def random_case(self, rng: random.Random) -> tuple[Policy, str, ZoneInfo, list[Sent], datetime]:
        zone, days = rng.choice(ZONES)
        channels = ["email", "sms", "push"]
        caps = tuple(
            Cap(rng.randint(1, 3), rng.choice([1, 1, 2, 3, 7]), rng.choice([None, *channels]))
            for _ in range(rng.randint(0, 3))
        )
        quiet = None
        if rng.random() < 0.7:
            start, end = self.random_time(rng), self.random_time(rng)
            quiet = None if start == end else QuietHours(start, end)
        day_before = datetime(*rng.choice(days), tzinfo=zone) - timedelta(days=1)
        start_at = day_before.astimezone(UTC) + timedelta(seconds=rng.randrange(3 * 86400))
        sent = [
            Sent(start_at + timedelta(minutes=rng.randrange(-7 * 1440, 1440)), rng.choice(channels))
            for _ in range(rng.randint(0, 10))
        ]
        return Policy(caps, quiet), rng.choice(channels), zone, sent, start_at

    def test_returned_instant_is_the_first_allowed_one(self) -> None:
        rng = random.Random(20260308)
        for _ in range(500):
            policy, channel, zone, sent, start = self.random_case(rng)
            found, reason = next_allowed(policy, channel, zone, sent, start)
            assert found >= start
            assert (reason is None) == (found == start)
            assert allowed_by_definition(policy, channel, zone, sent, found)
            assert next_allowed(policy, channel, zone, sent, found) == (found, None)
            # Minute boundaries in [start, found): the first, the last and a random sample.
            first = start.replace(second=0, microsecond=0)
            first += timedelta(minutes=0 if first == start else 1)
            boundaries = math.ceil((found - first) / timedelta(minutes=1))
            if boundaries <= 0:
                continue
            steps = {0, boundaries - 1, *(rng.randrange(boundaries) for _ in range(12))}
            for step in sorted(steps):
                earlier = first + timedelta(minutes=step)
                assert not allowed_by_definition(policy, channel, zone, sent, earlier), earlier
                assert next_allowed(policy, channel, zone, sent, earlier)[0] == found
