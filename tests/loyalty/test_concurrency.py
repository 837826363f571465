"""No double spend, no lost points: real concurrent HTTP requests against `tenure serve` on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tenure.loyalty.models import Transaction
from tenure.storage.database import Database
from tests.serving import keyed_server, together


@pytest.fixture
def server(home: Path, database_url: str) -> Iterator[dict[str, Any]]:
    """A real one-process server on SQLite or a fresh PostgreSQL schema, with keys."""
    with keyed_server(home, database_url) as srv:
        yield srv


@pytest.fixture
def two_process_server(home: Path, pg_url: str) -> Iterator[dict[str, Any]]:
    """The same with two worker processes: the lock must hold across processes too."""
    with keyed_server(home, pg_url, 2) as srv:
        yield srv


def _grant(srv: dict[str, Any], user: str, amount: int) -> None:
    httpx.put(
        f"{srv['url']}/v1/loyalty/program",
        json={"config": {"actions": {}, "min_redeem_points": 1}},
        headers=srv["admin"],
        timeout=30,
    ).raise_for_status()
    httpx.post(
        f"{srv['url']}/v1/loyalty/accounts/{user}/adjustments",
        json={"points": amount, "reason": "seed"},
        headers={**srv["admin"], "Idempotency-Key": f"seed-{user}"},
        timeout=30,
    ).raise_for_status()


def _ledger(srv: dict[str, Any], user: str) -> list[Transaction]:
    with srv["database"].session() as session:
        stmt = select(Transaction).where(Transaction.user_id == user)
        return list(session.scalars(stmt.order_by(Transaction.created_at)))


@pytest.mark.postgres
class TestAcrossProcesses:
    def test_parallel_spends_through_two_server_processes_never_overdraw(
        self, two_process_server: dict[str, Any]
    ) -> None:
        srv = two_process_server
        _grant(srv, "u1", 500)
        responses = together(
            20,
            lambda c, i: c.post(
                f"{srv['url']}/v1/loyalty/accounts/u1/spend",
                json={"points": 100},
                headers={**srv["server"], "Idempotency-Key": f"spend-{i % 10}"},
            ),
        )
        ok = [r for r in responses if r.status_code == 200]
        # Ten keys, each sent twice: five distinct spends succeed, their twins replay them.
        assert len({r.json()["id"] for r in ok}) == 5
        assert {r.json()["code"] for r in responses if r.status_code == 409} <= {
            "points_insufficient"
        }
        ledger = _ledger(srv, "u1")
        assert [t.kind for t in ledger].count("spend") == 5
        assert min(t.available_after for t in ledger) == 0


class TestConcurrentSpending:
    def test_fifty_parallel_spends_of_a_balance_that_covers_five(
        self, server: dict[str, Any]
    ) -> None:
        _grant(server, "u1", 500)
        responses = together(
            50,
            lambda c, i: c.post(
                f"{server['url']}/v1/loyalty/accounts/u1/spend",
                json={"points": 100},
                headers={**server["server"], "Idempotency-Key": f"spend-{i}"},
            ),
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 5 + [409] * 45
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {
            "points_insufficient"
        }
        ledger = _ledger(server, "u1")
        assert [t.kind for t in ledger].count("spend") == 5
        assert min(t.available_after for t in ledger) == 0  # never negative
        assert sorted(r.json()["balance"] for r in responses if r.status_code == 200) == [
            0, 100, 200, 300, 400,
        ]  # fmt: skip

    def test_the_same_idempotency_key_from_ten_threads_posts_one_entry(
        self, server: dict[str, Any]
    ) -> None:
        _grant(server, "u2", 1_000)
        responses = together(
            10,
            lambda c, i: c.post(
                f"{server['url']}/v1/loyalty/accounts/u2/spend",
                json={"points": 300},
                headers={**server["server"], "Idempotency-Key": "one-key"},
            ),
        )
        assert {r.status_code for r in responses} == {200}
        assert len({r.json()["id"] for r in responses}) == 1
        assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 9
        assert [t.kind for t in _ledger(server, "u2")] == ["earn", "spend"]

    def test_twenty_parallel_checkout_redemptions_reserve_only_what_exists(
        self, server: dict[str, Any]
    ) -> None:
        _grant(server, "u3", 5_000)
        responses = together(
            20,
            lambda c, i: c.post(
                f"{server['url']}/v1/loyalty/checkout/redeem",
                json={"user_id": "u3", "order_minor": 10_000, "currency": "USD", "points": 1_000},
                headers={**server["server"], "Idempotency-Key": f"cart-{i}"},
            ),
        )
        assert sorted(r.status_code for r in responses) == [200] * 5 + [409] * 15
        summary = httpx.get(
            f"{server['url']}/v1/loyalty/accounts/u3", headers=server["server"], timeout=30
        ).json()
        assert summary["balances"] == {"available": 0, "pending": 0, "reserved": 5_000}

    def test_racing_confirms_and_releases_of_one_hold_settle_it_once(
        self, server: dict[str, Any]
    ) -> None:
        _grant(server, "u5", 2_000)
        held = httpx.post(
            f"{server['url']}/v1/loyalty/checkout/redeem",
            json={"user_id": "u5", "order_minor": 10_000, "currency": "USD", "points": 1_500},
            headers={**server["server"], "Idempotency-Key": "race"},
            timeout=30,
        ).json()
        responses = together(
            10,
            lambda c, i: c.post(
                f"{server['url']}/v1/loyalty/redemptions/{held['id']}/"
                + ("confirm" if i % 2 else "release"),
                headers=server["server"],
            ),
        )
        winners = {r.json()["status"] for r in responses if r.status_code == 200}
        losers = {r.json()["code"] for r in responses if r.status_code != 200}
        assert len(winners) == 1 and losers <= {"redemption_settled"}
        balances = httpx.get(
            f"{server['url']}/v1/loyalty/accounts/u5", headers=server["server"], timeout=30
        ).json()["balances"]
        expected = 500 if winners == {"confirmed"} else 2_000
        assert balances == {"available": expected, "pending": 0, "reserved": 0}
        assert [t.kind for t in _ledger(server, "u5")].count("redeem") + [
            t.kind for t in _ledger(server, "u5")
        ].count("release") == 1

    def test_parallel_check_ins_on_one_day_award_once(self, server: dict[str, Any]) -> None:
        _grant(server, "u4", 1)
        responses = together(
            10,
            lambda c, i: c.post(
                f"{server['url']}/v1/loyalty/accounts/u4/checkins", headers=server["server"]
            ),
        )
        assert sorted(r.status_code for r in responses) == [200] + [409] * 9
        assert [t.reason for t in _ledger(server, "u4")].count("checkin") == 1

    def test_a_new_member_hit_by_parallel_orders_earns_each_once(
        self, server: dict[str, Any]
    ) -> None:
        _grant(server, "seed", 1)
        responses = together(
            10,
            lambda c, i: c.post(
                f"{server['url']}/v1/loyalty/orders",
                json={
                    "order_id": f"o{i % 5}",
                    "user_id": "fresh",
                    "amount_minor": 10_000,
                    "currency": "USD",
                },
                headers=server["server"],
            ),
        )
        assert {r.status_code for r in responses} == {200}
        earns = [t for t in _ledger(server, "fresh") if t.kind == "earn"]
        assert sorted(t.order_id or "" for t in earns) == ["o0", "o1", "o2", "o3", "o4"]


class TestConcurrentSpendingOnSqlite:
    def test_threads_spending_one_balance_never_overdraw_it(self, home: Path) -> None:
        from tenure.errors import TenureError
        from tenure.loyalty import points
        from tenure.loyalty.program import save_program
        from tests.loyalty.builders import T0, balances, grant

        database = Database(f"sqlite:///{home / 'tenure.db'}")
        database.upgrade()
        database.write(lambda s: save_program(s, {"actions": {}}, T0))
        grant(database, "u1", 500)
        barrier = threading.Barrier(20)

        def spend(i: int) -> str:
            barrier.wait()
            try:
                database.write(lambda s: points.spend(s, "u1", 100, "x", f"k{i}", T0))
                return "ok"
            except TenureError as exc:
                return exc.code

        with ThreadPoolExecutor(20) as pool:
            results = sorted(pool.map(spend, range(20)))
        assert results == ["ok"] * 5 + ["points_insufficient"] * 15
        assert balances(database, "u1").available == 0
