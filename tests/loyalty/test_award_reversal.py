"""Taking back awarded points (a refunded promotion, a clawed-back referral reward) through the
ledger: a reversal entry, cumulative, once per key, never below zero; on both engines."""

from __future__ import annotations

import pytest

from tenure.loyalty import orders, points, service
from tenure.loyalty.errors import IdempotencyKeyReused
from tenure.loyalty.points import AwardReversal
from tenure.storage.database import Database
from tests.loyalty.builders import T0, UTC_ZONE, balances, configure, entry_sum, grant, write


def _award(database: Database, user: str, amount: int, key: str) -> None:
    write(database, lambda s, p: service.award_points(s, user, amount, "promo", key, T0))


def _reverse(
    database: Database, award: str, key: str, upto: int | None = None
) -> AwardReversal | None:
    return write(
        database, lambda s, p: service.reverse_award(s, award, key, "refund:test", upto, T0)
    )


class TestReverseAward:
    def test_nothing_awarded_under_the_key_reverses_nothing(self, database: Database) -> None:
        assert _reverse(database, "never", "r1") is None

    def test_the_whole_award_is_taken_back_as_one_reverse_entry(self, database: Database) -> None:
        _award(database, "u1", 200, "a1")
        grant(database, "u1", 50)
        done = _reverse(database, "a1", "r1")
        assert done is not None
        assert (done.awarded, done.taken, done.shortfall, done.replayed) == (200, 200, 0, False)
        assert done.transaction.kind == "reverse"
        assert entry_sum(database, "u1") == 50

    def test_targets_add_up_and_a_replayed_key_takes_nothing_more(self, database: Database) -> None:
        _award(database, "u1", 200, "a1")
        first = _reverse(database, "a1", "r1", upto=50)
        again = _reverse(database, "a1", "r1", upto=50)
        assert first is not None and again is not None
        assert (first.taken, again.taken, again.replayed) == (50, 50, True)
        assert entry_sum(database, "u1") == 150
        rest = _reverse(database, "a1", "r2")
        assert rest is not None and rest.taken == 150
        assert entry_sum(database, "u1") == 0
        beyond = _reverse(database, "a1", "r3")
        assert beyond is not None and beyond.taken == 0

    def test_a_key_reused_for_another_target_is_refused(self, database: Database) -> None:
        _award(database, "u1", 200, "a1")
        _reverse(database, "a1", "r1", upto=50)
        with pytest.raises(IdempotencyKeyReused):
            _reverse(database, "a1", "r1", upto=80)

    def test_points_already_spent_become_shortfall_and_the_balance_stays_at_zero(
        self, database: Database
    ) -> None:
        _award(database, "u1", 200, "a1")
        write(database, lambda s, p: points.spend(s, "u1", 120, "gift", "s1", T0))
        done = _reverse(database, "a1", "r1")
        assert done is not None and (done.taken, done.shortfall) == (80, 120)
        assert balances(database, "u1").available == 0
        # The shortfall counts as reversed: a later call does not try again.
        grant(database, "u1", 500)
        later = _reverse(database, "a1", "r2")
        assert later is not None and later.taken == 0
        assert entry_sum(database, "u1") == 500

    def test_an_award_reversal_leaves_the_orders_own_refund_whole(self, database: Database) -> None:
        configure(database, return_window_days=0)
        write(
            database,
            lambda s, p: orders.order_paid(
                s, p, UTC_ZONE, user_id="u1", order_id="o1", amount_minor=10_000,
                currency="USD", paid_at=T0, now=T0,
            ),
        )  # fmt: skip
        _award(database, "u1", 200, "promo:o1")
        _reverse(database, "promo:o1", "r1")
        write(database, lambda s, p: orders.order_refunded(s, "o1", "rf1", 10_000, T0))
        assert entry_sum(database, "u1") == 0
