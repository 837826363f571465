"""Two-sided rewards after the return window, the review queue and caps, on both engines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tenure.kit.time import as_utc
from tenure.promotions.schemas import OfferIn
from tenure.promotions.service import offers
from tenure.referrals import repository, rewards, service
from tenure.referrals.errors import ReferralConfigInvalid, ReferralNotHeld
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


def _status(database: Database, invitee: str) -> str:
    found = read(database, lambda s: repository.of_invitee(s, invitee))
    assert found is not None
    return found.status


class TestFirstOrder:
    def test_the_first_order_starts_the_return_window(self, database: Database) -> None:
        signup(database, "bob", code_of(database, "alice"))
        outcome = order(database, "o1", "bob", paid_at=T0)
        assert (outcome.qualifies, outcome.reason) == (True, "qualifying")
        assert outcome.referral is not None
        assert outcome.referral.confirm_at == T0 + timedelta(days=14)

    def test_an_order_of_a_customer_nobody_referred_changes_nothing(
        self, database: Database
    ) -> None:
        outcome = order(database, "o1", "stranger")
        assert (outcome.referral, outcome.qualifies, outcome.reason) == (
            None,
            False,
            "not_referred",
        )

    def test_an_order_below_the_minimum_does_not_qualify(self, database: Database) -> None:
        configure(database, min_order_minor=3_000)
        signup(database, "bob", code_of(database, "alice"))
        assert order(database, "o1", "bob", amount=2_999).reason == "below_minimum"
        assert order(database, "o2", "bob", amount=3_000).reason == "qualifying"

    def test_a_second_order_does_not_move_the_window(self, database: Database) -> None:
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)
        later = order(database, "o2", "bob", paid_at=T0 + timedelta(days=3))
        assert later.reason == "already_qualified"
        assert later.referral is not None and later.referral.order_id == "o1"

    def test_a_refund_inside_the_window_waits_for_another_first_order(
        self, database: Database
    ) -> None:
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)
        write(database, lambda s, p: service.refund_order(s, p, "o1", T0 + timedelta(days=2)))
        assert _status(database, "bob") == "pending"
        assert run_due(database, after_window())["rewarded"] == 0
        order(database, "o2", "bob", paid_at=T0 + timedelta(days=3))
        assert run_due(database, after_window(17))["rewarded"] == 1


class TestRewardsAfterTheWindow:
    def test_nothing_is_granted_before_the_window_closes(self, database: Database) -> None:
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)
        assert run_due(database, T0 + timedelta(days=13, hours=23))["rewarded"] == 0
        assert loyalty_points(database, "bob") == 0

    def test_both_sides_receive_their_points_once_the_window_closes(
        self, database: Database
    ) -> None:
        configure(database, referrer={"points": 500}, invitee={"points": 200})
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)
        assert run_due(database, after_window())["rewarded"] == 1
        assert (loyalty_points(database, "alice"), loyalty_points(database, "bob")) == (500, 200)
        assert reward_rows(database, "alice") == [("referrer", "granted", 500)]
        assert _status(database, "bob") == "rewarded"

    def test_running_the_job_again_grants_nothing_more(self, database: Database) -> None:
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)
        run_due(database, after_window())
        assert run_due(database, after_window(20)) == {
            "rewarded": 0,
            "held": 0,
            "groups_failed": 0,
            "members_refunded": 0,
        }
        assert (loyalty_points(database, "alice"), loyalty_points(database, "bob")) == (500, 200)

    def test_a_coupon_reward_lands_in_the_wallet(self, database: Database) -> None:
        offer = write(
            database,
            lambda s, p: offers.create_offer(
                s,
                OfferIn.model_validate(
                    {
                        "name": "welcome",
                        "kind": "coupon",
                        "benefit": {"type": "amount_off", "amount_minor": 1000},
                    }
                ),
                "USD",
                T0,
            ),
        )
        configure(database, invitee={"coupon_offer_id": offer.id}, referrer={"points": 100})
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)
        run_due(database, after_window())
        detail = read(database, lambda s: service.detail(s, _id(database, "bob")))
        invitee = [r for r in detail.rewards if r.side == "invitee"]
        assert [(r.offer_id, r.points) for r in invitee] == [(offer.id, 0)]
        from tenure.promotions.coupons.service import wallet_of

        wallet = read(database, lambda s: wallet_of(s, "bob", after_window()))
        assert [w.code for w in wallet] == [invitee[0].coupon_code]

    def test_a_coupon_reward_must_name_a_coupon_template(self, database: Database) -> None:
        with pytest.raises(ReferralConfigInvalid) as caught:
            configure(database, invitee={"coupon_offer_id": "missing"})
        assert caught.value.data["field"] == "invitee.coupon_offer_id"


def _id(database: Database, invitee: str) -> str:
    found = read(database, lambda s: repository.of_invitee(s, invitee))
    assert found is not None
    return found.id


class TestReviewQueue:
    def test_a_shared_payment_fingerprint_holds_the_reward_for_review(
        self, database: Database
    ) -> None:
        signup(database, "bob", code_of(database, "alice"))
        order(database, "a1", "alice", payment="card-42")  # alice is not referred; seen anyway
        order(database, "o1", "bob", paid_at=T0, payment="card-42")
        assert run_due(database, after_window()) == {
            "rewarded": 0,
            "held": 1,
            "groups_failed": 0,
            "members_refunded": 0,
        }
        assert _status(database, "bob") == "held"
        assert loyalty_points(database, "bob") == 0
        assert decisions(database) == [("same_payment", "hold", "bob")]

    def test_approving_a_held_referral_rewards_both_sides(self, database: Database) -> None:
        code = code_of(database, "alice", device="d1")
        signup(database, "bob", code, device="d1")
        order(database, "o1", "bob", paid_at=T0)
        run_due(database, after_window())
        referral_id = _id(database, "bob")
        write(
            database,
            lambda s, p: rewards.approve(
                s, p, referral_id, "ops@shop", "siblings", UTC_ZONE, after_window()
            ),
        )
        assert (loyalty_points(database, "alice"), loyalty_points(database, "bob")) == (500, 200)
        assert _status(database, "bob") == "rewarded"
        assert decisions(database)[-1] == ("review", "approve", "bob")

    def test_rejecting_a_held_referral_grants_nothing(self, database: Database) -> None:
        code = code_of(database, "alice", device="d1")
        signup(database, "bob", code, device="d1")
        order(database, "o1", "bob", paid_at=T0)
        run_due(database, after_window())
        referral_id = _id(database, "bob")
        write(database, lambda s, p: rewards.reject(s, referral_id, "ops", "same phone", T0))
        assert _status(database, "bob") == "rejected"
        assert (loyalty_points(database, "alice"), loyalty_points(database, "bob")) == (0, 0)

    def test_only_a_held_referral_can_be_reviewed(self, database: Database) -> None:
        signup(database, "bob", code_of(database, "alice"))
        referral_id = _id(database, "bob")
        with pytest.raises(ReferralNotHeld) as caught:
            write(database, lambda s, p: rewards.reject(s, referral_id, "ops", None, T0))
        assert caught.value.data == {"referral_id": referral_id, "referral_status": "pending"}


class TestPeriodCap:
    def test_past_the_monthly_cap_the_referrer_side_is_capped_and_the_invitee_still_rewarded(
        self, database: Database
    ) -> None:
        configure(database, cap_per_period=2, cap_period="month")
        code = code_of(database, "alice")
        for i in range(3):
            signup(database, f"b{i}", code, T0 + timedelta(minutes=i))
            order(database, f"o{i}", f"b{i}", paid_at=T0 + timedelta(minutes=i))
        assert run_due(database, after_window() + timedelta(minutes=5))["rewarded"] == 3
        assert loyalty_points(database, "alice") == 1000
        assert [loyalty_points(database, f"b{i}") for i in range(3)] == [200, 200, 200]
        assert sorted(reward_rows(database, "alice")) == [
            ("referrer", "capped", 0),
            ("referrer", "granted", 500),
            ("referrer", "granted", 500),
        ]
        assert ("period_cap", "cap", "b2") in decisions(database)

    def test_the_cap_starts_again_with_the_next_calendar_month(self, database: Database) -> None:
        configure(database, cap_per_period=1, cap_period="month")
        code = code_of(database, "alice")
        signup(database, "b0", code, T0)
        order(database, "o0", "b0", paid_at=T0)
        run_due(database, after_window())  # 2026-03-24: March's one reward
        signup(database, "b1", code, T0 + timedelta(days=1))
        order(database, "o1", "b1", paid_at=T0 + timedelta(days=10))
        run_due(database, T0 + timedelta(days=25))  # 2026-04-04: a new month
        assert loyalty_points(database, "alice") == 1000


class TestOrderTimes:
    def test_an_order_paid_in_another_zone_starts_its_window_at_the_same_instant_in_utc(
        self, database: Database
    ) -> None:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        signup(database, "bob", code_of(database, "alice"))
        shanghai = datetime(2026, 3, 10, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # 12:00 UTC
        order(database, "o1", "bob", paid_at=shanghai)
        found = read(database, lambda s: repository.of_invitee(s, "bob"))
        assert found is not None and found.confirm_at is not None
        assert as_utc(found.confirm_at) == T0 + timedelta(days=14)
        assert run_due(database, T0 + timedelta(days=14) - timedelta(seconds=1))["rewarded"] == 0
        assert run_due(database, T0 + timedelta(days=14))["rewarded"] == 1


class TestPaymentRejection:
    def test_with_the_reject_action_a_shared_card_rejects_the_referral_at_the_order(
        self, database: Database
    ) -> None:
        configure(database, fingerprint_action="reject")
        signup(database, "bob", code_of(database, "alice"))
        order(database, "a1", "alice", payment="card-42")
        outcome = order(database, "o1", "bob", payment="card-42")
        assert (outcome.qualifies, outcome.reason) == (False, "rejected")
        assert _status(database, "bob") == "rejected"
        assert decisions(database) == [("same_payment", "reject", "bob")]
        assert run_due(database, after_window())["rewarded"] == 0


class TestScheduledJob:
    def test_the_worker_catalogue_runs_referrals_due_every_five_minutes(
        self, database: Database, settings: Any
    ) -> None:
        from tenure.jobs.catalog import default_registry
        from tenure.jobs.registry import JobContext
        from tenure.storage.warehouse import Warehouse

        spec = default_registry().get("referrals.due")
        assert spec.interval_seconds == 300
        signup(database, "bob", code_of(database, "alice"))
        order(database, "o1", "bob", paid_at=T0)  # the window closed long before today
        result = spec.run(JobContext(settings, database, Warehouse(settings)))
        assert (result["rewarded"], result["held"]) == (1, 0)
