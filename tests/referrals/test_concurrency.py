"""Real concurrent HTTP requests against `tenure serve` (two processes) on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tenure.loyalty.models import Entry
from tenure.referrals.models import GroupBuy, GroupMember, Referral, Reward
from tests.serving import keyed_server, together


@pytest.fixture
def server(home: Path, database_url: str) -> Iterator[dict[str, Any]]:
    """`tenure serve --workers 2` on SQLite or a fresh PostgreSQL schema, with keys."""
    with keyed_server(home, database_url, 2) as srv:
        yield srv


def _count(srv: dict[str, Any], stmt: Any) -> int:
    with srv["database"].session() as session:
        return int(session.scalar(stmt) or 0)


def _code(srv: dict[str, Any], user: str) -> str:
    response = httpx.post(
        f"{srv['url']}/v1/referrals/codes", json={"user_id": user}, headers=srv["server"]
    )
    response.raise_for_status()
    return str(response.json()["code"])


class TestGroupBuyUnderParallelJoins:
    def test_a_group_of_three_with_ten_parallel_joins_has_exactly_three_members(
        self, server: dict[str, Any]
    ) -> None:
        body = {"sku": "tea", "group_price_minor": 990, "currency": "USD", "size": 3,
                "hours": 24, "leader_id": "lead"}  # fmt: skip
        opened = httpx.post(f"{server['url']}/v1/referrals/group-buys", json=body,
                            headers=server["server"])  # fmt: skip
        gid = opened.json()["group"]["id"]
        responses = together(
            10,
            lambda c, i: c.post(
                f"{server['url']}/v1/referrals/group-buys/{gid}/members",
                json={"user_id": f"u{i}", "hold_ref": f"pay-{i}"},
                headers=server["server"],
            ),
        )
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 2, 409: 8}
        assert {r.json()["code"] for r in responses if r.status_code == 409} <= {
            "group_closed",
            "group_full",
        }
        completions = [r for r in responses if r.status_code == 201 and r.json()["group"]["status"] == "completed"]  # fmt: skip
        assert len(completions) == 1
        members = select(func.count()).where(GroupMember.group_id == gid)
        captured = members.where(GroupMember.status == "captured")
        assert (_count(server, members), _count(server, captured)) == (3, 3)
        with server["database"].session() as session:
            group = session.get(GroupBuy, gid)
            assert group is not None and (group.status, group.members) == ("completed", 3)


class TestAttributionUnderParallelSignUps:
    def test_one_invitee_signing_up_ten_times_at_once_is_attributed_once(
        self, server: dict[str, Any]
    ) -> None:
        code = _code(server, "alice")
        responses = together(
            10,
            lambda c, i: c.post(
                f"{server['url']}/v1/referrals/signups",
                json={"invitee_id": "bob", "code": code},
                headers=server["server"],
            ),
        )
        assert Counter(r.status_code for r in responses) == {201: 1, 200: 9}
        assert len({r.json()["id"] for r in responses}) == 1
        assert _count(server, select(func.count()).where(Referral.invitee_id == "bob")) == 1

    def test_one_invitee_through_ten_codes_at_once_goes_to_exactly_one_referrer(
        self, server: dict[str, Any]
    ) -> None:
        codes = [_code(server, f"ref{i}") for i in range(10)]
        responses = together(
            10,
            lambda c, i: c.post(
                f"{server['url']}/v1/referrals/signups",
                json={"invitee_id": "bob", "code": codes[i]},
                headers=server["server"],
            ),
        )
        assert Counter(r.status_code for r in responses) == {201: 1, 409: 9}
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {
            "referral_invitee_already_attributed"
        }
        assert _count(server, select(func.count()).where(Referral.invitee_id == "bob")) == 1

    def test_parallel_sign_ups_past_the_velocity_limit_admit_exactly_the_limit(
        self, server: dict[str, Any]
    ) -> None:
        httpx.put(
            f"{server['url']}/v1/referrals/config",
            json={"config": {"velocity_max": 3}},
            headers=server["admin"],
        ).raise_for_status()
        code = _code(server, "alice")
        responses = together(
            10,
            lambda c, i: c.post(
                f"{server['url']}/v1/referrals/signups",
                json={"invitee_id": f"b{i}", "code": code},
                headers=server["server"],
            ),
        )
        assert Counter(r.status_code for r in responses) == {201: 3, 409: 7}
        assert _count(server, select(func.count()).where(Referral.referrer_id == "alice")) == 3


class TestRewardsUnderParallelJobs:
    def test_five_parallel_due_runs_reward_each_side_once(self, server: dict[str, Any]) -> None:
        url, srv = server["url"], server["server"]
        httpx.put(
            f"{url}/v1/referrals/config",
            json={"config": {"return_window_days": 0}},
            headers=server["admin"],
        ).raise_for_status()
        code = _code(server, "alice")
        for i in range(4):
            httpx.post(f"{url}/v1/referrals/signups", json={"invitee_id": f"b{i}", "code": code},
                       headers=srv).raise_for_status()  # fmt: skip
            httpx.post(
                f"{url}/v1/referrals/orders",
                json={"order_id": f"o{i}", "user_id": f"b{i}", "amount_minor": 1000,
                      "currency": "USD", "paid_at": "2026-01-01T00:00:00Z"},
                headers=srv,
            ).raise_for_status()  # fmt: skip
        responses = together(
            5, lambda c, i: c.post(f"{url}/v1/referrals/jobs/run-due", headers=server["admin"])
        )
        assert sum(r.json()["rewarded"] for r in responses) == 4
        assert _count(server, select(func.count()).select_from(Reward)) == 8
        points = select(func.coalesce(func.sum(Entry.points), 0))
        assert _count(server, points.where(Entry.user_id == "alice")) == 4 * 500
        assert _count(server, points.where(Entry.user_id == "b0")) == 200
