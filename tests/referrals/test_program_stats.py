"""Program-wide numbers for the console: referrals per status, rewards and the rules that fired."""

from __future__ import annotations

from tenure.referrals import service
from tenure.storage.database import Database

from .builders import after_window, code_of, order, read, run_due, signup


def test_stats_count_every_referral_reward_and_rule(database: Database) -> None:
    empty = read(database, service.program_stats)
    assert (empty.referrals, empty.by_status, empty.points_granted, empty.rules) == (0, {}, 0, {})

    code = code_of(database, "alice", device="d1")
    signup(database, "bob", code)  # rewarded after the window
    order(database, "o1", "bob")
    signup(database, "carol", code, device="d1")  # shares alice's device: held
    order(database, "o2", "carol")
    signup(database, "dave", code)  # no order: pending
    run_due(database, after_window())

    stats = read(database, service.program_stats)
    assert stats.referrals == 3
    assert stats.by_status == {"rewarded": 1, "held": 1, "pending": 1}
    assert stats.points_granted == 500 + 200  # both sides of bob's referral
    assert stats.rewards == {"granted": (2, 700, 0)}
    assert stats.coupons_granted == 0
    assert stats.rules == {("same_device", "hold"): 1}
