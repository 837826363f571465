"""The points ledger: balances are sums, FIFO spending, idempotency, expiry and liability."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tenure.loyalty import jobs, liability, points, service
from tenure.loyalty.errors import IdempotencyKeyReused, PointsInsufficient, PointsInvalid
from tenure.loyalty.models import Transaction
from tenure.storage.database import Database
from tests.loyalty.builders import T0, UTC_ZONE, balances, configure, entry_sum, grant, read, write


def _spend(database: Database, user: str, amount: int, key: str, at=T0) -> points.Outcome:  # type: ignore[no-untyped-def]
    return write(database, lambda s, p: points.spend(s, user, amount, "test", key, at))


class TestBalances:
    def test_balance_is_the_sum_of_entries_and_each_transaction_records_it(
        self, database: Database
    ) -> None:
        configure(database)
        grant(database, "u1", 300)
        grant(database, "u1", 200, T0 + timedelta(hours=1))
        _spend(database, "u1", 120, "s1", T0 + timedelta(hours=2))
        assert balances(database, "u1").available == 380
        assert entry_sum(database, "u1") == 380
        stmt = select(Transaction.available_after).order_by(Transaction.created_at)
        assert database.read(lambda s: list(s.scalars(stmt))) == [300, 500, 380]

    def test_spending_more_than_the_balance_is_refused_with_balance_and_requested(
        self, database: Database
    ) -> None:
        configure(database)
        grant(database, "u1", 100)
        with pytest.raises(PointsInsufficient) as caught:
            _spend(database, "u1", 150, "s1")
        assert caught.value.status == 409
        assert caught.value.data == {"user_id": "u1", "balance": 100, "requested": 150}
        assert balances(database, "u1").available == 100

    def test_zero_or_negative_spend_is_rejected(self, database: Database) -> None:
        configure(database)
        with pytest.raises(PointsInvalid):
            _spend(database, "u1", 0, "s1")


class TestAwardsFromOtherDomains:
    def test_an_award_adds_points_once_per_key(self, database: Database) -> None:
        configure(database)
        award = lambda: write(  # noqa: E731
            database, lambda s, p: service.award_points(s, "u1", 250, "referral", "ref-9", T0)
        )
        assert (award(), award()) == (250, 250)
        assert balances(database, "u1").available == 250

    def test_a_new_member_is_in_the_entry_tier(self, database: Database) -> None:
        configure(database)
        grant(database, "u1", 1)
        summary = read(database, lambda s, p: points.summary(s, p, "u1", T0))
        tier = read(database, lambda s, p: service.current_tier(s, "u1"))
        assert (summary.tier, tier) == ("member", "member")


class TestIdempotency:
    def test_a_replayed_key_returns_the_first_result_and_posts_once(
        self, database: Database
    ) -> None:
        configure(database)
        grant(database, "u1", 500)
        first = _spend(database, "u1", 100, "same")
        again = _spend(database, "u1", 100, "same")
        assert (first.replayed, again.replayed) == (False, True)
        assert again.transaction.id == first.transaction.id
        assert again.transaction.available_after == 400
        assert balances(database, "u1").available == 400

    def test_the_same_key_for_a_different_request_is_refused(self, database: Database) -> None:
        configure(database)
        grant(database, "u1", 500)
        _spend(database, "u1", 100, "same")
        with pytest.raises(IdempotencyKeyReused):
            _spend(database, "u1", 200, "same")


class TestFifoAndExpiry:
    def test_spending_takes_the_soonest_expiring_lot_first(self, database: Database) -> None:
        configure(database, expiry_days=30)
        grant(database, "u1", 100, T0)  # expires T0 + 30 d
        grant(database, "u1", 100, T0 + timedelta(days=10))  # expires T0 + 40 d
        _spend(database, "u1", 150, "s1", T0 + timedelta(days=11))
        # The first lot is empty, so nothing expires at day 30; the 50 left expire at day 40.
        first = jobs.expire_lots(database, T0 + timedelta(days=30, seconds=1))
        assert (first, balances(database, "u1").available) == (0, 50)
        second = jobs.expire_lots(database, T0 + timedelta(days=40, seconds=1))
        assert (second, balances(database, "u1").available) == (1, 0)

    def test_expiry_runs_twice_without_taking_points_twice(self, database: Database) -> None:
        configure(database, expiry_days=30)
        grant(database, "u1", 70, T0)
        grant(database, "u1", 30, T0 + timedelta(days=20))
        later = T0 + timedelta(days=31)
        assert jobs.expire_lots(database, later) == 1
        assert jobs.expire_lots(database, later) == 0
        assert balances(database, "u1").available == 30

    def test_a_reminder_is_recorded_once_per_lot_before_it_expires(
        self, database: Database
    ) -> None:
        configure(database, expiry_days=60, reminder_days=7)
        grant(database, "u1", 40, T0)
        seen: list[int] = []
        assert jobs.remind_expiring(database, T0 + timedelta(days=52), seen.append) == 0
        hook_calls: list[list[object]] = []
        assert jobs.remind_expiring(database, T0 + timedelta(days=54), hook_calls.append) == 1
        assert jobs.remind_expiring(database, T0 + timedelta(days=55), hook_calls.append) == 0
        assert [[n.points for n in call] for call in hook_calls] == [[40]]  # type: ignore[attr-defined]


class TestLiability:
    def test_liability_values_points_and_learns_breakage_from_history(
        self, database: Database
    ) -> None:
        # 100 points = 1.00 USD; 100 expired and 300 spent in the window: breakage 25 %.
        configure(database, expiry_days=30, redeem_points_per_unit=100)
        grant(database, "old", 100, T0)
        grant(database, "u1", 1_000, T0 + timedelta(days=5))
        _spend(database, "u1", 300, "s1", T0 + timedelta(days=6))
        jobs.expire_lots(database, T0 + timedelta(days=31))
        now = T0 + timedelta(days=32)
        found = read(database, lambda s, p: liability.liability(s, p, now))
        assert (found.available, found.outstanding, found.value_minor) == (700, 700, 700)
        assert (found.expired_window, found.used_window, found.breakage_bps) == (100, 300, 2_500)
        assert found.expected_breakage_points == 175
        assert found.expected_cost_minor == 525
        assert found.expiring_30d == 700  # the u1 lot expires at day 35


def test_jobs_take_the_shop_zone(database: Database) -> None:
    configure(database)
    assert jobs.run_due(database, UTC_ZONE, T0).as_dict() == {
        "confirmed": 0,
        "expired": 0,
        "reminded": 0,
        "released": 0,
        "tiers_changed": 0,
    }
