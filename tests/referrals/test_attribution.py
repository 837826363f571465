"""Invite codes and attribution on sign-up, with the abuse rules that reject, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenure.referrals import service
from tenure.referrals.errors import (
    FingerprintMatch,
    InviteeAlreadyAttributed,
    ReferralCodeDisabled,
    ReferralCodeNotFound,
    SelfReferral,
    VelocityExceeded,
)
from tenure.storage.database import Database
from tests.referrals.builders import T0, code_of, configure, decisions, read, signup, write


class TestInviteCodes:
    def test_a_customer_gets_one_code_and_the_same_code_every_time(
        self, database: Database
    ) -> None:
        first = code_of(database, "alice")
        assert code_of(database, "alice") == first
        assert code_of(database, "bob") != first

    def test_a_code_is_eight_unambiguous_characters(self, database: Database) -> None:
        code = code_of(database, "alice")
        assert len(code) == 8
        assert not set(code) & set("01ILO")

    def test_codes_are_matched_without_regard_to_case_or_spaces(self, database: Database) -> None:
        code = code_of(database, "alice")
        assert signup(database, "bob", f"  {code.lower()} ").referral.referrer_id == "alice"

    def test_an_unknown_code_is_not_found(self, database: Database) -> None:
        with pytest.raises(ReferralCodeNotFound) as caught:
            signup(database, "bob", "NOPE2345")
        assert (caught.value.status, caught.value.data) == (404, {"referral_code": "NOPE2345"})

    def test_a_disabled_code_stops_attributing_and_can_be_enabled_again(
        self, database: Database
    ) -> None:
        code = code_of(database, "alice")
        write(database, lambda s, p: service.set_code_disabled(s, code, True, T0))
        with pytest.raises(ReferralCodeDisabled):
            signup(database, "bob", code)
        write(database, lambda s, p: service.set_code_disabled(s, code, False, T0))
        assert signup(database, "bob", code).created


class TestAttribution:
    def test_a_sign_up_is_attributed_to_the_code_owner_and_waits_for_an_order(
        self, database: Database
    ) -> None:
        referral = signup(database, "bob", code_of(database, "alice")).referral
        assert (referral.referrer_id, referral.invitee_id, referral.status) == (
            "alice",
            "bob",
            "pending",
        )

    def test_a_retried_sign_up_with_the_same_code_answers_the_same_referral(
        self, database: Database
    ) -> None:
        code = code_of(database, "alice")
        first = signup(database, "bob", code)
        again = signup(database, "bob", code)
        assert (first.created, again.created) == (True, False)
        assert again.referral.id == first.referral.id

    def test_an_invitee_is_attributed_once_even_through_another_code(
        self, database: Database
    ) -> None:
        first = signup(database, "bob", code_of(database, "alice")).referral
        with pytest.raises(InviteeAlreadyAttributed) as caught:
            signup(database, "bob", code_of(database, "carol"))
        assert caught.value.status == 409
        assert caught.value.data["referral_id"] == first.id


class TestSelfReferral:
    def test_using_ones_own_code_is_rejected_and_the_reason_recorded(
        self, database: Database
    ) -> None:
        code = code_of(database, "alice")
        with pytest.raises(SelfReferral) as caught:
            signup(database, "alice", code)
        assert caught.value.status == 409
        assert caught.value.data == {"user_id": "alice", "referral_code": code}
        assert decisions(database) == [("self_referral", "reject", "alice")]
        assert read(database, lambda s: service.repository.of_invitee(s, "alice")) is None


class TestVelocity:
    def test_sign_ups_past_the_limit_in_the_window_are_rejected_with_the_counts(
        self, database: Database
    ) -> None:
        configure(database, velocity_max=2, velocity_window_hours=24)
        code = code_of(database, "alice")
        signup(database, "b1", code, T0)
        signup(database, "b2", code, T0 + timedelta(hours=1))
        with pytest.raises(VelocityExceeded) as caught:
            signup(database, "b3", code, T0 + timedelta(hours=2))
        assert caught.value.data == {
            "referrer_id": "alice",
            "limit": 2,
            "window_hours": 24,
            "count": 2,
        }
        assert decisions(database) == [("velocity", "reject", "b3")]

    def test_the_window_rolls_so_a_later_sign_up_is_accepted(self, database: Database) -> None:
        configure(database, velocity_max=2, velocity_window_hours=24)
        code = code_of(database, "alice")
        signup(database, "b1", code, T0)
        signup(database, "b2", code, T0 + timedelta(hours=1))
        # 24 h after the first sign-up only one remains inside the window.
        assert signup(database, "b3", code, T0 + timedelta(hours=24)).created


class TestFingerprints:
    def test_an_invitee_on_the_referrers_device_is_held_for_review(
        self, database: Database
    ) -> None:
        code = code_of(database, "alice", device="phone-1", ip="10.0.0.1")
        referral = signup(database, "bob", code, device="PHONE-1", ip="10.0.0.9").referral
        assert referral.hold_reasons == "same_device"
        assert decisions(database) == [("same_device", "hold", "bob")]

    def test_two_invitees_of_one_referrer_sharing_an_ip_hold_the_second(
        self, database: Database
    ) -> None:
        code = code_of(database, "alice", ip="10.0.0.1")
        assert signup(database, "bob", code, ip="192.168.1.7").referral.hold_reasons == ""
        second = signup(database, "carl", code, ip="192.168.1.7").referral
        assert second.hold_reasons == "same_ip"

    def test_a_stranger_sharing_an_ip_with_someone_outside_the_circle_is_not_held(
        self, database: Database
    ) -> None:
        code_of(database, "zed", ip="192.168.1.7")
        code = code_of(database, "alice", ip="10.0.0.1")
        assert signup(database, "bob", code, ip="192.168.1.7").referral.hold_reasons == ""

    def test_with_the_reject_action_a_shared_device_is_a_409_and_no_referral(
        self, database: Database
    ) -> None:
        configure(database, fingerprint_action="reject")
        code = code_of(database, "alice", device="phone-1")
        with pytest.raises(FingerprintMatch) as caught:
            signup(database, "bob", code, device="phone-1")
        assert caught.value.data == {"rules": "same_device", "invitee_id": "bob"}
        assert decisions(database) == [("same_device", "reject", "bob")]
        assert read(database, lambda s: service.repository.of_invitee(s, "bob")) is None
