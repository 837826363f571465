"""The rewards catalogue: points buy a reward once per key, and stock never goes below zero."""

from __future__ import annotations

import pytest

from tenure.loyalty import rewards
from tenure.loyalty.errors import PointsInsufficient, RewardNotFound, RewardOutOfStock
from tenure.promotions.coupons.service import issue_one
from tenure.storage.database import Database
from tests.loyalty.builders import T0, balances, configure, grant, read, write


def _claim(database: Database, user: str, code: str, key: str) -> rewards.ClaimResult:
    return write(database, lambda s, p: rewards.claim(s, user, code, key, T0, issue_one))


class TestRewards:
    def test_claiming_spends_the_cost_and_takes_one_from_stock(self, database: Database) -> None:
        configure(database)
        write(database, lambda s, p: rewards.upsert(s, "mug", "Mug", "gift", 400, T0, stock=2))
        grant(database, "u1", 1_000)
        claimed = _claim(database, "u1", "mug", "c1")
        assert (claimed.claim.points, claimed.reward.stock) == (400, 1)
        assert balances(database, "u1").available == 600

    def test_a_replayed_claim_returns_the_same_claim(self, database: Database) -> None:
        configure(database)
        write(database, lambda s, p: rewards.upsert(s, "mug", "Mug", "gift", 400, T0, stock=5))
        grant(database, "u1", 1_000)
        first = _claim(database, "u1", "mug", "c1")
        again = _claim(database, "u1", "mug", "c1")
        assert (again.replayed, again.claim.id) == (True, first.claim.id)
        assert (balances(database, "u1").available, again.reward.stock) == (600, 4)

    def test_an_empty_stock_is_refused_before_any_points_move(self, database: Database) -> None:
        configure(database)
        write(database, lambda s, p: rewards.upsert(s, "mug", "Mug", "gift", 100, T0, stock=1))
        grant(database, "u1", 1_000)
        _claim(database, "u1", "mug", "c1")
        with pytest.raises(RewardOutOfStock):
            _claim(database, "u1", "mug", "c2")
        assert balances(database, "u1").available == 900

    def test_too_few_points_or_an_inactive_reward_are_refused(self, database: Database) -> None:
        configure(database)
        write(database, lambda s, p: rewards.upsert(s, "tv", "TV", "gift", 50_000, T0))
        write(
            database,
            lambda s, p: rewards.upsert(s, "old", "Old", "coupon", 10, T0, "OLD5", None, False),
        )
        grant(database, "u1", 1_000)
        with pytest.raises(PointsInsufficient):
            _claim(database, "u1", "tv", "c1")
        with pytest.raises(RewardNotFound):
            _claim(database, "u1", "old", "c2")
        listed = read(database, lambda s, p: [r.code for r in rewards.catalogue(s)])
        assert listed == ["tv"]


class TestCouponRewards:
    def test_a_coupon_reward_puts_a_personal_code_in_the_wallet(self, database: Database) -> None:
        from tenure.promotions.coupons import service as coupons
        from tenure.promotions.schemas import OfferIn
        from tenure.promotions.service import offers

        configure(database)
        body = {
            "kind": "coupon",
            "name": "10 off",
            "benefit": {"type": "amount_off", "amount_minor": 1000},
        }
        template = write(
            database,
            lambda s, p: offers.create_offer(s, OfferIn.model_validate(body), "USD", T0),
        )
        write(
            database,
            lambda s, p: rewards.upsert(s, "ten", "10 off", "coupon", 500, T0, template.id),
        )
        grant(database, "u1", 600)
        claimed = _claim(database, "u1", "ten", "c1")
        wallet = read(database, lambda s, p: [w.code for w in coupons.wallet_of(s, "u1", T0)])
        assert claimed.claim.coupon_code is not None and wallet == [claimed.claim.coupon_code]
        assert balances(database, "u1").available == 100

    def test_an_unknown_coupon_template_moves_no_points(self, database: Database) -> None:
        from tenure.errors import TenureError

        configure(database)
        write(database, lambda s, p: rewards.upsert(s, "x", "X", "coupon", 100, T0, "off_nope"))
        grant(database, "u1", 600)
        with pytest.raises(TenureError):
            _claim(database, "u1", "x", "c1")
        assert balances(database, "u1").available == 600
