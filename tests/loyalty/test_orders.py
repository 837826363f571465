"""Orders: points per amount × multipliers, pending through the return window, refunds reverse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tenure.loyalty import jobs, orders, points, repository
from tenure.loyalty.errors import CurrencyMismatch, IdempotencyKeyReused, RefundExceedsOrder
from tenure.loyalty.tiers import service as tiers
from tenure.storage.database import Database
from tests.loyalty.builders import T0, UTC_ZONE, balances, configure, write

TIERS = [
    {"code": "member", "name": "Member", "threshold": 0},
    {"code": "gold", "name": "Gold", "threshold": 1_000_000, "multiplier_bps": 15_000},
]


def _pay(
    database: Database,
    order: str,
    amount: int,
    user: str = "u1",
    at: datetime = T0,
    zone: ZoneInfo = UTC_ZONE,
    currency: str = "USD",
) -> orders.PaidResult:
    return write(
        database,
        lambda s, p: orders.order_paid(
            s, p, zone, user_id=user, order_id=order, amount_minor=amount, currency=currency,
            paid_at=at, now=at,
        ),
    )  # fmt: skip


def _refund(database: Database, order: str, refund: str, amount: int) -> orders.RefundResult:
    return write(
        database, lambda s, p: orders.order_refunded(s, order, refund, amount, T0 + timedelta(1))
    )


class TestEarning:
    def test_an_order_earns_one_point_per_unit_times_the_tier_multiplier(
        self, database: Database
    ) -> None:
        configure(database, tiers=TIERS, return_window_days=0)

        def make_gold(session, program):  # type: ignore[no-untyped-def]
            account = points.open_account(session, "u1", T0)
            tiers.set_tier(session, program, account, "gold", T0)

        write(database, make_gold)
        result = _pay(database, "o1", 12_345)  # 123.45 USD × 1.5 = 185.175 → 185
        assert (result.points, result.order.multiplier_bps) == (185, 15_000)
        assert balances(database, "u1").available == 185

    def test_member_day_and_membership_bonuses_add_up(self, database: Database) -> None:
        configure(
            database,
            return_window_days=0,
            member_day={"days_of_month": [10], "multiplier_bps": 20_000},
            plans={"plus": {"name": "Plus", "price_minor": 990, "multiplier_bps": 12_000}},
        )
        from tenure.loyalty import membership

        write(
            database,
            lambda s, p: membership.activate(
                s, p, "u1", "plus", "pay1", None, None, T0 - timedelta(1)
            ),
        )
        # 1× base + 1× member day + 0.2× membership = 2.2× on 100.00 USD.
        assert _pay(database, "o1", 10_000).points == 220
        assert _pay(database, "o2", 10_000, at=T0 + timedelta(days=1)).points == 120

    def test_member_day_is_the_shop_local_day(self, database: Database) -> None:
        configure(database, member_day={"days_of_month": [10], "multiplier_bps": 30_000})
        shanghai = ZoneInfo("Asia/Shanghai")
        # 17:00 UTC on 9 March is 01:00 on 10 March in Shanghai: a member day there.
        at = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
        assert _pay(database, "o1", 10_000, at=at, zone=shanghai).points == 300
        assert _pay(database, "o2", 10_000, at=at, zone=UTC_ZONE, user="u2").points == 100

    def test_the_first_order_earns_the_first_order_bonus_once(self, database: Database) -> None:
        configure(database, actions={"first_order": {"points": 200, "max_per_period": 1}})
        first = _pay(database, "o1", 1_000)
        second = _pay(database, "o2", 1_000)
        assert (first.points, first.bonus_points) == (10, 200)
        assert (second.points, second.bonus_points) == (10, 0)

    def test_an_order_in_another_currency_is_refused(self, database: Database) -> None:
        configure(database)
        with pytest.raises(CurrencyMismatch) as caught:
            _pay(database, "o1", 1_000, currency="EUR")
        assert caught.value.data == {"currency": "EUR", "expected": "USD"}


class TestIdempotentOrders:
    def test_the_same_order_reported_twice_earns_once(self, database: Database) -> None:
        configure(database)
        first = _pay(database, "o1", 5_000)
        again = _pay(database, "o1", 5_000)
        assert (again.replayed, again.points) == (True, first.points)
        assert balances(database, "u1").pending == 50

    def test_the_same_order_id_with_another_amount_is_refused(self, database: Database) -> None:
        configure(database)
        _pay(database, "o1", 5_000)
        with pytest.raises(IdempotencyKeyReused):
            _pay(database, "o1", 6_000)


class TestReturnWindow:
    def test_points_stay_pending_until_the_return_window_closes(self, database: Database) -> None:
        configure(database, return_window_days=14)
        result = _pay(database, "o1", 12_300)
        assert result.pending and result.confirm_at == T0 + timedelta(days=14)
        assert (balances(database, "u1").pending, balances(database, "u1").available) == (123, 0)
        assert jobs.confirm_pending(database, T0 + timedelta(days=13)) == 0
        assert jobs.confirm_pending(database, T0 + timedelta(days=14)) == 1
        assert jobs.confirm_pending(database, T0 + timedelta(days=15)) == 0
        assert (balances(database, "u1").pending, balances(database, "u1").available) == (0, 123)


class TestRefunds:
    def test_a_full_refund_reverses_the_points_and_the_first_order_bonus(
        self, database: Database
    ) -> None:
        configure(database, actions={"first_order": {"points": 200, "max_per_period": 1}})
        _pay(database, "o1", 10_000)
        result = _refund(database, "o1", "r1", 10_000)
        assert (result.transaction.pending_delta, result.transaction.shortfall) == (-300, 0)
        assert balances(database, "u1") == repository.Balances(0, 0, 0)

    def test_partial_refunds_reverse_their_share_once_each(self, database: Database) -> None:
        configure(database, return_window_days=0)
        _pay(database, "o1", 10_000)  # 100 points
        _refund(database, "o1", "r1", 2_500)
        _refund(database, "o1", "r1", 2_500)  # replay: nothing more
        assert balances(database, "u1").available == 75
        _refund(database, "o1", "r2", 2_500)
        _refund(database, "o1", "r3", 5_000)
        assert balances(database, "u1").available == 0

    def test_points_already_spent_are_reported_as_a_shortfall_not_a_negative_balance(
        self, database: Database
    ) -> None:
        configure(database, return_window_days=0)
        _pay(database, "o1", 10_000)
        write(database, lambda s, p: points.spend(s, "u1", 80, "gift", "s1", T0))
        result = _refund(database, "o1", "r1", 10_000)
        assert (result.transaction.available_delta, result.transaction.shortfall) == (-20, 80)
        assert balances(database, "u1").available == 0

    def test_refunding_more_than_the_order_is_refused(self, database: Database) -> None:
        configure(database)
        _pay(database, "o1", 10_000)
        _refund(database, "o1", "r1", 6_000)
        with pytest.raises(RefundExceedsOrder) as caught:
            _refund(database, "o1", "r2", 5_000)
        assert caught.value.data["refunded"] == 6_000
