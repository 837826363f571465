"""Refunds of a confirmed reservation: bonus points taken back through the loyalty ledger, in
full or in proportion, once per refund id, never below zero; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tenure.loyalty import points
from tenure.loyalty.models import Entry, Transaction
from tenure.loyalty.service import award_points
from tenure.promotions import repository
from tenure.promotions.errors import IdempotencyKeyReused, RefundExceedsTotal
from tenure.promotions.service import reservations
from tenure.storage.database import Database

from .builders import NOW, reserve_body, stored

BONUS = {"type": "points", "points": 200}


def _paid(database: Database, points: dict[str, object] = BONUS) -> str:
    """A confirmed reservation of the default 100.00 cart whose offer gives bonus points."""
    with database.session() as session:
        stored(session, benefit=points)
    with database.session() as session:
        held = reservations.reserve(session, reserve_body(), "k1", "USD", NOW).id
    with database.session() as session:
        reservations.confirm(session, held, "order-1", NOW)
    return held


def _refund(
    database: Database, held: str, refund_id: str | None = None, amount: int | None = None
) -> tuple[str, int]:
    with database.session() as session:
        row = reservations.refund(session, held, NOW, refund_id, amount)
        return row.status, row.refunded_minor


def _points(database: Database, user: str = "u1") -> int:
    """Independent check: the raw sum of the member's ledger entries, every bucket."""
    with database.session() as session:
        stmt = select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.user_id == user)
        return int(session.scalar(stmt) or 0)


def _reversals(database: Database) -> list[tuple[int, int]]:
    """(points taken, shortfall) of every reversal transaction, oldest first."""
    with database.session() as session:
        stmt = (
            select(Transaction)
            .where(Transaction.kind == "reverse")
            .order_by(Transaction.created_at, Transaction.id)
        )
        return [
            (-(t.available_delta + t.pending_delta), t.shortfall) for t in session.scalars(stmt)
        ]


class TestFullRefund:
    def test_a_refund_takes_back_the_bonus_points_the_order_earned(
        self, database: Database
    ) -> None:
        held = _paid(database)
        assert _points(database) == 200
        assert _refund(database, held) == ("refunded", 10_000)
        assert _points(database) == 0

    def test_a_replayed_refund_reverses_once(self, database: Database) -> None:
        held = _paid(database)
        _refund(database, held)
        with database.session() as session:
            award_points(session, "u1", 500, "probe", "probe", NOW)
        _refund(database, held)  # the shop retries: the other 500 points stay
        assert _points(database) == 500
        assert len(_reversals(database)) == 1

    def test_the_reversal_is_its_own_ledger_entry_next_to_the_award(
        self, database: Database
    ) -> None:
        held = _paid(database)
        _refund(database, held)
        with database.session() as session:
            kinds = list(
                session.scalars(
                    select(Transaction.kind).order_by(Transaction.created_at, Transaction.kind)
                )
            )
        assert sorted(kinds) == ["earn", "reverse"]


class TestPartialRefunds:
    def test_partial_refunds_reverse_in_proportion_and_add_up_to_the_whole(
        self, database: Database
    ) -> None:
        held = _paid(database)
        assert _refund(database, held, "r1", 2_500) == ("confirmed", 2_500)
        assert _points(database) == 150  # a quarter of the order: 50 of 200 points
        assert _refund(database, held, "r1", 2_500) == ("confirmed", 2_500)  # a retry
        assert _points(database) == 150
        assert _refund(database, held, "r2", 3_333) == ("confirmed", 5_833)
        assert _points(database) == 200 - 200 * 5_833 // 10_000
        assert _refund(database, held) == ("refunded", 10_000)  # the rest
        assert _points(database) == 0
        assert sum(taken for taken, _ in _reversals(database)) == 200

    def test_a_partial_refund_keeps_the_coupon_used(self, database: Database) -> None:
        held = _paid(database)
        _refund(database, held, "r1", 1_000)
        with database.session() as session:
            row = reservations.get(session, held)
            assert row.status == "confirmed"

    def test_a_refund_past_what_was_paid_is_refused(self, database: Database) -> None:
        held = _paid(database)
        _refund(database, held, "r1", 9_000)
        with pytest.raises(RefundExceedsTotal) as caught:
            _refund(database, held, "r2", 1_001)
        assert caught.value.data["refunded_minor"] == 9_000
        assert caught.value.data["requested_minor"] == 1_001
        assert _points(database) == 20

    def test_a_refund_id_reused_with_another_amount_is_refused(self, database: Database) -> None:
        held = _paid(database)
        _refund(database, held, "r1", 1_000)
        with pytest.raises(IdempotencyKeyReused):
            _refund(database, held, "r1", 2_000)


class TestPointsAlreadySpent:
    def test_what_was_spent_is_recorded_as_shortfall_and_the_balance_stays_at_zero(
        self, database: Database
    ) -> None:
        held = _paid(database)
        with database.session() as session:
            points.spend(session, "u1", 150, "gift", "spend-1", NOW)
        _refund(database, held)
        assert _points(database) == 0
        assert _reversals(database) == [(50, 150)]
        with database.session() as session:
            refunds = repository.refunds(session, held)
        assert [(r.points_reversed, r.points_shortfall) for r in refunds] == [(50, 150)]

    def test_other_points_cover_the_reversal_before_any_shortfall(self, database: Database) -> None:
        held = _paid(database)
        with database.session() as session:
            award_points(session, "u1", 300, "campaign", "c-1", NOW)
        with database.session() as session:
            points.spend(session, "u1", 250, "gift", "spend-1", NOW)
        _refund(database, held)
        assert _points(database) == 50
        assert _reversals(database) == [(200, 0)]
