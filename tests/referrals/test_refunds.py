"""A refunded or cancelled qualifying order: rewards cancelled before the grant, clawed back after
(points through a loyalty reversal, unused coupons revoked), once; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.loyalty.models import Transaction
from tenure.loyalty.service import award_points
from tenure.promotions.coupons.service import wallet_of
from tenure.promotions.models import PromoCode
from tenure.promotions.schemas import OfferIn
from tenure.promotions.service import offers
from tenure.referrals import repository, rewards, service
from tenure.referrals.errors import ReferralNotHeld, ReferralOrderNotFound
from tenure.referrals.models import Referral, Reward
from tenure.storage.database import Database
from tests.referrals.builders import (
    T0,
    UTC_ZONE,
    after_window,
    code_of,
    configure,
    decisions,
    loyalty_points,
    order,
    read,
    run_due,
    signup,
    write,
)
from tests.referrals.builders import rewards as reward_rows

LATE = after_window(30)


def _referral(database: Database, invitee: str = "bob") -> Referral:
    found = read(database, lambda s: repository.of_invitee(s, invitee))
    assert found is not None
    return found


def _refund(
    database: Database, order_id: str = "o1", at: datetime = LATE, reason: str = "refunded"
) -> Referral:
    return write(database, lambda s, p: service.refund_order(s, p, order_id, at, reason))


def _outcomes(
    database: Database, invitee: str = "bob"
) -> list[tuple[str, str, str | None, int, int, str | None]]:
    """(side, status, reason, points reversed, shortfall, coupon outcome) per reward row of the
    invitee's referral."""
    referral_id = _referral(database, invitee).id
    stmt = select(Reward).where(Reward.referral_id == referral_id).order_by(Reward.side)
    return read(
        database,
        lambda s: [
            (r.side, r.status, r.reason, r.points_reversed, r.points_shortfall, r.coupon_outcome)
            for r in s.scalars(stmt)
        ],
    )


def _reversals(database: Database) -> int:
    stmt = select(Transaction.id).where(Transaction.kind == "reverse")
    return len(read(database, lambda s: list(s.scalars(stmt))))


def _rewarded(database: Database) -> None:
    """bob, invited by alice, paid o1 at T0 and both sides were rewarded (500 / 200 points)."""
    signup(database, "bob", code_of(database, "alice"))
    order(database, "o1", "bob", paid_at=T0)
    assert run_due(database, after_window())["rewarded"] == 1


def _held(database: Database) -> None:
    """bob shares alice's device: past the window the referral waits for review."""
    signup(database, "bob", code_of(database, "alice", device="d1"), device="d1")
    order(database, "o1", "bob", paid_at=T0)
    assert run_due(database, after_window())["held"] == 1


def _coupon_template(database: Database) -> str:
    body = {
        "name": "welcome",
        "kind": "coupon",
        "benefit": {"type": "amount_off", "amount_minor": 1000},
    }
    return write(
        database, lambda s, p: offers.create_offer(s, OfferIn.model_validate(body), "USD", T0)
    ).id


class TestBeforeTheGrant:
    def test_a_refund_in_the_window_records_why_and_waits_for_another_order(
        self, database: Database
    ) -> None:
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)
        assert _refund(database, at=T0 + timedelta(days=1), reason="cancelled").status == "pending"
        assert decisions(database) == [("order_refunded", "reset", "bob")]
        found = read(database, lambda s: repository.decisions(s, _referral(database).id))
        assert found[0].data == {"order_id": "o1", "reason": "cancelled"}
        assert run_due(database, after_window())["rewarded"] == 0
        assert reward_rows(database, "alice") == []

    def test_a_repeated_refund_in_the_window_is_a_replay_not_a_404(
        self, database: Database
    ) -> None:
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)
        first = _refund(database, at=T0 + timedelta(days=1))
        again = _refund(database, at=T0 + timedelta(days=2))
        assert (again.id, again.status) == (first.id, "pending")
        assert decisions(database) == [("order_refunded", "reset", "bob")]
        # A second first order qualifies again; the old order's refund still changes nothing.
        order(database, "o2", "bob", paid_at=T0 + timedelta(days=3))
        assert _refund(database, "o1", at=T0 + timedelta(days=4)).status == "qualifying"
        assert _referral(database).order_id == "o2"

    def test_a_held_referral_refunded_late_cancels_both_sides_rewards_with_the_reason(
        self, database: Database
    ) -> None:
        _held(database)
        assert _refund(database).status == "cancelled"
        assert _outcomes(database) == [
            ("invitee", "cancelled", "order_refunded", 0, 0, None),
            ("referrer", "cancelled", "order_refunded", 0, 0, None),
        ]
        assert decisions(database)[-1] == ("order_refunded", "cancel", "bob")
        assert (loyalty_points(database, "alice"), loyalty_points(database, "bob")) == (0, 0)

    def test_a_cancelled_referral_can_no_longer_be_approved(self, database: Database) -> None:
        _held(database)
        _refund(database, reason="cancelled")
        referral_id = _referral(database).id
        with pytest.raises(ReferralNotHeld):
            write(
                database,
                lambda s, p: rewards.approve(s, p, referral_id, "ops", None, UTC_ZONE, LATE),
            )
        assert loyalty_points(database, "alice") == 0
        assert _outcomes(database)[0][2] == "order_cancelled"


class TestAfterTheGrant:
    def test_a_late_refund_claws_back_both_sides_points_through_the_ledger(
        self, database: Database
    ) -> None:
        _rewarded(database)
        assert _refund(database).status == "reversed"
        assert (loyalty_points(database, "alice"), loyalty_points(database, "bob")) == (0, 0)
        assert _outcomes(database) == [
            ("invitee", "reversed", "order_refunded", 200, 0, None),
            ("referrer", "reversed", "order_refunded", 500, 0, None),
        ]
        assert _reversals(database) == 2
        assert decisions(database)[-1] == ("order_refunded", "reverse", "bob")

    def test_a_replayed_refund_claws_back_once(self, database: Database) -> None:
        _rewarded(database)
        _refund(database)
        write(database, lambda s, p: award_points(s, "alice", 700, "campaign", "c1", LATE))
        assert _refund(database).status == "reversed"
        assert loyalty_points(database, "alice") == 700
        assert _reversals(database) == 2

    def test_points_already_spent_are_recorded_as_shortfall_never_a_negative_balance(
        self, database: Database
    ) -> None:
        from tenure.loyalty import points

        _rewarded(database)
        write(database, lambda s, p: points.spend(s, "alice", 450, "gift", "s1", LATE))
        _refund(database)
        assert loyalty_points(database, "alice") == 0
        assert _outcomes(database)[1] == ("referrer", "reversed", "order_refunded", 50, 450, None)

    def test_an_unused_coupon_is_revoked_and_leaves_the_wallet(self, database: Database) -> None:
        offer_id = _coupon_template(database)
        configure(database, invitee={"coupon_offer_id": offer_id})
        _rewarded(database)
        assert len(read(database, lambda s: wallet_of(s, "bob", LATE))) == 1
        _refund(database)
        assert _outcomes(database)[0] == ("invitee", "reversed", "order_refunded", 0, 0, "revoked")
        assert read(database, lambda s: wallet_of(s, "bob", LATE)) == []

    def test_a_coupon_already_used_is_reported_and_cannot_come_back(
        self, database: Database
    ) -> None:
        offer_id = _coupon_template(database)
        configure(database, invitee={"coupon_offer_id": offer_id, "points": 0})
        _rewarded(database)
        stmt = select(PromoCode).where(PromoCode.user_id == "bob")

        def use(s: Session) -> None:
            s.scalars(stmt).one().used_count = 1

        write(database, lambda s, p: use(s))
        _refund(database)
        assert _outcomes(database)[0] == (
            "invitee", "reversed", "order_refunded", 0, 0, "already_used",
        )  # fmt: skip
        assert read(database, lambda s: s.scalars(stmt).one().status) == "revoked"

    def test_a_capped_referrer_side_stays_capped(self, database: Database) -> None:
        configure(database, cap_per_period=1, cap_period="month")
        code = code_of(database, "alice")
        signup(database, "carol", code)
        order(database, "o0", "carol", paid_at=T0)
        signup(database, "bob", code)
        order(database, "o1", "bob", paid_at=T0 + timedelta(hours=1))  # due after carol's
        run_due(database, after_window() + timedelta(hours=1))
        _refund(database)
        assert _outcomes(database) == [
            ("invitee", "reversed", "order_refunded", 200, 0, None),
            ("referrer", "capped", None, 0, 0, None),
        ]
        assert loyalty_points(database, "alice") == 500  # carol's reward stands

    def test_the_invite_page_no_longer_counts_reversed_rewards(self, database: Database) -> None:
        _rewarded(database)
        _refund(database)
        page = read(database, lambda s: service.progress(s, "alice"))
        assert (page.points_earned, page.by_status) == (0, {"reversed": 1})


def _partly(database: Database, total: int, at: datetime = T0 + timedelta(days=1)) -> Referral:
    return write(database, lambda s, p: service.refund_order(s, p, "o1", at, "refunded", total))


class TestPartialRefunds:
    def test_what_is_left_above_the_minimum_keeps_the_order_qualifying(
        self, database: Database
    ) -> None:
        configure(database, min_order_minor=3_000)
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", amount=5_000, paid_at=T0)
        kept = _partly(database, 1_500)
        assert (kept.status, kept.order_id, kept.order_refunded_minor) == (
            "qualifying",
            "o1",
            1_500,
        )
        assert _partly(database, 1_500).order_refunded_minor == 1_500  # a retry
        assert _partly(database, 1_000).order_refunded_minor == 1_500  # an older, smaller total
        assert decisions(database) == [("order_partly_refunded", "keep", "bob")]
        # 5,000 - 2,500 is below the 3,000 minimum: the order no longer qualifies.
        assert _partly(database, 2_500).status == "pending"
        assert run_due(database, after_window())["rewarded"] == 0

    def test_after_the_grant_a_partial_refund_leaves_the_rewards(self, database: Database) -> None:
        _rewarded(database)
        assert _partly(database, 1_000, LATE).status == "rewarded"
        assert loyalty_points(database, "alice") == 500 and _reversals(database) == 0
        assert _partly(database, 5_000, LATE).status == "reversed"  # then refunded in full
        assert loyalty_points(database, "alice") == 0

    def test_an_order_recorded_before_amounts_were_kept_counts_any_refund_as_full(
        self, database: Database
    ) -> None:
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)

        def forget(session: Session, _program: object) -> None:
            found = repository.by_order(session, "o1")
            assert found is not None
            found.order_amount_minor = found.order_refunded_minor = None

        write(database, forget)
        assert _partly(database, 100).status == "pending"


class TestUnknownOrders:
    def test_an_order_that_qualified_nothing_is_not_found(self, database: Database) -> None:
        with pytest.raises(ReferralOrderNotFound):
            _refund(database, "nope")
