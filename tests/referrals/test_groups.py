"""Group buying: completes exactly at N members, fails and refunds once past the deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenure.kit.time import as_utc
from tenure.referrals import groups
from tenure.referrals.errors import GroupClosed, GroupExpired, GroupMemberNotFound, GroupNotFound
from tenure.referrals.groups import Joined
from tenure.storage.database import Database
from tests.referrals.builders import T0, run_due


def _open(database: Database, size: int = 3, hours: int = 24, key: str | None = None) -> Joined:
    return database.write(
        lambda s: groups.open_group(s, "sku-1", 1_990, "usd", size, hours, "lead", T0, "h0", key),
    )


def _join(database: Database, group_id: str, user: str, minutes: int = 10) -> Joined:
    at = T0 + timedelta(minutes=minutes)
    return database.write(lambda s: groups.join(s, group_id, user, at, f"hold-{user}"))


def _members(database: Database, group_id: str) -> list[tuple[str, str]]:
    _, rows = database.read(lambda s: groups.get(s, group_id))
    return [(m.user_id, m.status) for m in rows]


class TestOpening:
    def test_a_group_opens_with_its_leader_holding_the_first_place(
        self, database: Database
    ) -> None:
        opened = _open(database, size=3, hours=24)
        g = opened.group
        assert (g.sku, g.group_price_minor, g.currency, g.size, g.members, g.status) == (
            "sku-1",
            1_990,
            "USD",
            3,
            1,
            "open",
        )
        assert as_utc(g.deadline) == T0 + timedelta(hours=24)
        assert _members(database, g.id) == [("lead", "held")]

    def test_opening_again_with_the_same_key_replays_the_group(self, database: Database) -> None:
        first = _open(database, key="checkout-7")
        again = _open(database, key="checkout-7")
        assert (again.group.id, again.created) == (first.group.id, False)
        assert database.read(lambda s: len(groups.listing(s))) == 1


class TestJoining:
    def test_the_last_place_completes_the_group_and_captures_every_hold(
        self, database: Database
    ) -> None:
        gid = _open(database, size=3).group.id
        assert _join(database, gid, "u1").group.status == "open"
        done = _join(database, gid, "u2")
        assert (done.group.status, done.group.members) == ("completed", 3)
        assert _members(database, gid) == [
            ("lead", "captured"),
            ("u1", "captured"),
            ("u2", "captured"),
        ]

    def test_joining_a_completed_group_is_a_409_with_its_status(self, database: Database) -> None:
        gid = _open(database, size=2).group.id
        _join(database, gid, "u1")
        with pytest.raises(GroupClosed) as caught:
            _join(database, gid, "u2")
        assert (caught.value.status, caught.value.data) == (
            409,
            {"group_id": gid, "group_status": "completed"},
        )

    def test_a_member_joining_again_gets_their_place_back_not_a_second_one(
        self, database: Database
    ) -> None:
        gid = _open(database, size=3).group.id
        _join(database, gid, "u1")
        again = _join(database, gid, "u1")
        assert (again.created, again.group.members) == (False, 2)

    def test_joining_after_the_deadline_is_a_409(self, database: Database) -> None:
        gid = _open(database, size=3, hours=2).group.id
        with pytest.raises(GroupExpired) as caught:
            _join(database, gid, "u1", minutes=120)
        assert caught.value.data["deadline"] == (T0 + timedelta(hours=2)).isoformat()

    def test_an_unknown_group_is_not_found(self, database: Database) -> None:
        with pytest.raises(GroupNotFound):
            _join(database, "grp_missing", "u1")


class TestDeadline:
    def test_an_unfilled_group_fails_at_the_deadline_and_refunds_every_member_once(
        self, database: Database
    ) -> None:
        gid = _open(database, size=3, hours=2).group.id
        _join(database, gid, "u1")
        assert run_due(database, T0 + timedelta(hours=1, minutes=59))["groups_failed"] == 0
        first = run_due(database, T0 + timedelta(hours=2))
        assert (first["groups_failed"], first["members_refunded"]) == (1, 2)
        second = run_due(database, T0 + timedelta(hours=3))
        assert (second["groups_failed"], second["members_refunded"]) == (0, 0)
        assert _members(database, gid) == [("lead", "refunded"), ("u1", "refunded")]
        with pytest.raises(GroupClosed):
            _join(database, gid, "u2", minutes=30)

    def test_a_completed_group_is_left_alone_at_its_deadline(self, database: Database) -> None:
        gid = _open(database, size=2, hours=1).group.id
        _join(database, gid, "u1")
        assert run_due(database, T0 + timedelta(hours=5))["groups_failed"] == 0
        assert _members(database, gid) == [("lead", "captured"), ("u1", "captured")]

    def test_the_list_shows_failed_groups_for_the_shop_to_refund(self, database: Database) -> None:
        failed = _open(database, size=3, hours=1).group.id
        _open(database, size=3, hours=48)
        run_due(database, T0 + timedelta(hours=1))
        listed = database.read(lambda s: [g.id for g in groups.listing(s, status="failed")])
        assert listed == [failed]
        since = T0 + timedelta(minutes=30)
        recent = database.read(lambda s: [g.id for g in groups.listing(s, closed_since=since)])
        assert recent == [failed]


class TestLeaving:
    def _leave(self, database: Database, group_id: str, user: str) -> str:
        at = T0 + timedelta(minutes=20)
        return database.write(lambda s: groups.leave(s, group_id, user, at).status)

    def test_a_member_who_leaves_is_refunded_and_frees_the_place(self, database: Database) -> None:
        gid = _open(database, size=3).group.id
        _join(database, gid, "u1")
        assert self._leave(database, gid, "u1") == "refunded"
        _join(database, gid, "u2")
        done = _join(database, gid, "u3")
        assert (done.group.status, done.group.members) == ("completed", 3)
        assert _members(database, gid) == [
            ("lead", "captured"),
            ("u1", "refunded"),
            ("u2", "captured"),
            ("u3", "captured"),
        ]

    def test_leaving_twice_releases_the_hold_once(self, database: Database) -> None:
        gid = _open(database, size=3).group.id
        _join(database, gid, "u1")
        self._leave(database, gid, "u1")
        self._leave(database, gid, "u1")
        group, _ = database.read(lambda s: groups.get(s, gid))
        assert group.members == 1

    def test_a_member_who_left_can_join_again(self, database: Database) -> None:
        gid = _open(database, size=3).group.id
        _join(database, gid, "u1")
        self._leave(database, gid, "u1")
        back = _join(database, gid, "u1", minutes=30)
        assert (back.created, back.member.status, back.group.members) == (True, "held", 2)

    def test_nobody_can_leave_a_completed_group(self, database: Database) -> None:
        gid = _open(database, size=2).group.id
        _join(database, gid, "u1")
        with pytest.raises(GroupClosed):
            self._leave(database, gid, "u1")

    def test_leaving_a_group_one_is_not_in_is_not_found(self, database: Database) -> None:
        gid = _open(database, size=3).group.id
        with pytest.raises(GroupMemberNotFound):
            self._leave(database, gid, "stranger")
