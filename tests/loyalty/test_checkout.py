"""Points at checkout: quotes, reservations, confirm and release, stale holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenure.loyalty import jobs, service
from tenure.loyalty.errors import (
    PointsBelowMinimum,
    PointsExceedOrderShare,
    PointsInsufficient,
    RedemptionSettled,
)
from tenure.storage.database import Database
from tests.loyalty.builders import T0, balances, configure, grant, read, write


def _redeem(database: Database, points: int, key: str, order: int = 10_000, user: str = "u1"):  # type: ignore[no-untyped-def]
    return write(
        database,
        lambda s, p: service.redeem_points(s, user, order, "USD", points, key, now=T0),
    )


class TestQuote:
    def test_the_quote_caps_at_the_balance_and_at_the_order_share(self, database: Database) -> None:
        # 100 points = 1.00 USD and at most 50 % of the order: a 100.00 order takes 5,000 points.
        configure(database, redeem_points_per_unit=100, max_redeem_share_bps=5_000)
        grant(database, "u1", 3_000)
        grant(database, "u2", 8_000)

        def quote(user: str, pts: int | None):  # type: ignore[no-untyped-def]
            return read(
                database, lambda s, p: service.quote_points_discount(s, user, 10_000, "USD", pts)
            )

        best = quote("u1", None)
        assert (best.points, best.discount_minor, best.max_points, best.limited_by) == (
            3_000, 3_000, 5_000, None,
        )  # fmt: skip
        assert (quote("u1", 4_000).points, quote("u1", 4_000).limited_by) == (3_000, "balance")
        assert (quote("u2", 6_000).points, quote("u2", 6_000).limited_by) == (5_000, "order_share")
        assert balances(database, "u1").reserved == 0

    def test_points_worth_more_than_a_cent_round_the_discount_down(
        self, database: Database
    ) -> None:
        # 10 points = 1.00 USD, so 1 point = 10 cents; a 10.00 order takes at most 5.00 = 50 points.
        configure(database, redeem_points_per_unit=10, min_redeem_points=1)
        grant(database, "u1", 1_000)
        found = read(
            database, lambda s, p: service.quote_points_discount(s, "u1", 1_000, "USD", 33)
        )
        assert (found.points, found.discount_minor, found.max_points) == (33, 330, 50)

    def test_yen_has_no_minor_unit(self, database: Database) -> None:
        configure(database, currency="JPY", redeem_points_per_unit=1, min_redeem_points=1)
        grant(database, "u1", 900)
        found = read(database, lambda s, p: service.quote_points_discount(s, "u1", 1_000, "JPY"))
        assert (found.points, found.discount_minor) == (500, 500)


class TestRedeem:
    def test_redeeming_reserves_points_and_confirming_spends_them(self, database: Database) -> None:
        configure(database)
        grant(database, "u1", 3_000)
        held = _redeem(database, 1_200, "k1")
        assert (held.status, held.points, held.discount_minor) == ("reserved", 1_200, 1_200)
        assert (balances(database, "u1").available, balances(database, "u1").reserved) == (
            1_800, 1_200,
        )  # fmt: skip
        done = write(database, lambda s, p: service.confirm_redemption(s, held.id, "o1", T0))
        again = write(database, lambda s, p: service.confirm_redemption(s, held.id, "o1", T0))
        assert (done.status, again.status, done.order_id) == ("confirmed", "confirmed", "o1")
        assert (balances(database, "u1").available, balances(database, "u1").reserved) == (1_800, 0)

    def test_releasing_gives_the_points_back_and_cannot_be_confirmed_after(
        self, database: Database
    ) -> None:
        configure(database)
        grant(database, "u1", 3_000)
        held = _redeem(database, 1_200, "k1")
        write(database, lambda s, p: service.release_redemption(s, held.id, T0))
        assert balances(database, "u1").available == 3_000
        with pytest.raises(RedemptionSettled):
            write(database, lambda s, p: service.confirm_redemption(s, held.id, None, T0))

    def test_released_points_keep_their_lot_expiry(self, database: Database) -> None:
        configure(database, expiry_days=30)
        grant(database, "u1", 500)
        held = _redeem(database, 500, "k1")
        # Held points are promised to a checkout: expiry does not touch them.
        assert jobs.expire_lots(database, T0 + timedelta(days=31)) == 0
        write(database, lambda s, p: service.release_redemption(s, held.id, T0))
        assert jobs.expire_lots(database, T0 + timedelta(days=31)) == 1
        assert balances(database, "u1").available == 0

    def test_a_replayed_redeem_returns_the_same_redemption(self, database: Database) -> None:
        configure(database)
        grant(database, "u1", 3_000)
        first = _redeem(database, 1_000, "k1")
        again = _redeem(database, 1_000, "k1")
        assert again.id == first.id
        assert balances(database, "u1").reserved == 1_000

    def test_redeeming_more_than_the_balance_is_refused(self, database: Database) -> None:
        configure(database)
        grant(database, "u1", 300)
        with pytest.raises(PointsInsufficient) as caught:
            _redeem(database, 400, "k1")
        assert (caught.value.data["balance"], caught.value.data["requested"]) == (300, 400)

    def test_redeeming_more_than_the_order_share_is_refused(self, database: Database) -> None:
        configure(database, max_redeem_share_bps=2_000)
        grant(database, "u1", 10_000)
        with pytest.raises(PointsExceedOrderShare) as caught:
            _redeem(database, 2_500, "k1")  # 20 % of 100.00 = 20.00 = 2,000 points
        assert caught.value.data["max_points"] == 2_000

    def test_redeeming_fewer_than_the_minimum_is_refused(self, database: Database) -> None:
        configure(database, min_redeem_points=500)
        grant(database, "u1", 10_000)
        with pytest.raises(PointsBelowMinimum):
            _redeem(database, 499, "k1")

    def test_a_hold_never_settled_is_released_by_the_jobs(self, database: Database) -> None:
        configure(database, reservation_minutes=30)
        grant(database, "u1", 1_000)
        _redeem(database, 600, "k1")
        assert jobs.release_stale(database, T0 + timedelta(minutes=29)) == 0
        assert jobs.release_stale(database, T0 + timedelta(minutes=30)) == 1
        assert balances(database, "u1") == type(balances(database, "u1"))(1_000, 0, 0)
