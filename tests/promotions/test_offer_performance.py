"""Per-offer performance for the console: redemptions, holds, cost and budget, checked against
counts taken straight from the redemption rows."""

from __future__ import annotations

from sqlalchemy import func, select

from tenure.promotions.coupons import service as coupons
from tenure.promotions.models import PromoRedemption
from tenure.promotions.service import offers, reservations
from tenure.storage.database import Database

from .builders import NOW, reserve_body, stored

TEN_OFF = {"type": "amount_off", "amount_minor": 1000}


def _reserve(database: Database, key: str, user: str, code: str) -> str:
    with database.session() as session:
        return reservations.reserve(
            session, reserve_body(codes=[code], user_id=user), key, "USD", NOW
        ).id


def _independent(database: Database, offer_id: str) -> tuple[int, int, int]:
    """(paid uses, their discount, open holds) counted from the rows themselves."""
    given = select(func.count(), func.coalesce(func.sum(PromoRedemption.value_minor), 0)).where(
        PromoRedemption.offer_id == offer_id, PromoRedemption.status.in_(("used", "refunded"))
    )
    held = select(func.count()).where(
        PromoRedemption.offer_id == offer_id, PromoRedemption.status == "held"
    )
    with database.session() as session:
        n, value = session.execute(given).one()
        return int(n), int(value), int(session.scalar(held) or 0)


def test_performance_counts_paid_uses_holds_and_what_refunds_gave_back(
    database: Database,
) -> None:
    with database.session() as session:
        kept = stored(
            session,
            kind="coupon",
            name="kept on refund",
            benefit=TEN_OFF,
            budget_minor=10_000,
            returns_on_refund=False,
        )
        back = stored(session, kind="coupon", name="given back", benefit=TEN_OFF)
        idle = stored(session, kind="coupon", name="never used", benefit=TEN_OFF)
        coupons.create_shared_code(session, kept.id, "KEPT", None, NOW)
        coupons.create_shared_code(session, back.id, "BACK", None, NOW)
        coupons.create_unique_codes(session, idle.id, 3, "IDLE", NOW)
        ids = (kept.id, back.id, idle.id)
    # kept: two paid (one refunded, which keeps its use), one still held, one released.
    paid = [_reserve(database, f"k{i}", f"u{i}", "KEPT") for i in range(2)]
    _reserve(database, "k-held", "u8", "KEPT")
    released = _reserve(database, "k-gone", "u9", "KEPT")
    # back: one paid then refunded in full: the use is given back.
    refunded = _reserve(database, "b1", "u1", "BACK")
    with database.session() as session:
        for i, rid in enumerate([*paid, refunded]):
            reservations.confirm(session, rid, f"o{i}", NOW)
        reservations.refund(session, paid[0], NOW)
        reservations.refund(session, refunded, NOW)
        reservations.release(session, released, NOW)

    rows = {r.id: r for r in database.read(lambda s: offers.performance(s))}
    assert set(ids) <= set(rows)
    for offer_id in ids:
        n, value, held = _independent(database, offer_id)
        row = rows[offer_id]
        assert (row.redemptions, row.cost_minor, row.held) == (n, value, held)

    k = rows[kept.id]
    assert (k.redemptions, k.held, k.returned, k.cost_minor, k.codes) == (2, 1, 0, 2000, 1)
    # The budget counts the open hold too: 10,000 − 3 × 1,000.
    assert (k.budget_minor, k.budget_left_minor) == (10_000, 7_000)
    b = rows[back.id]
    assert (b.redemptions, b.returned, b.cost_minor, b.budget_left_minor) == (0, 1, 0, None)
    i = rows[idle.id]
    assert (i.redemptions, i.held, i.cost_minor, i.codes) == (0, 0, 0, 3)


def test_performance_pages_and_filters(database: Database) -> None:
    with database.session() as session:
        made = [stored(session, kind="coupon", name=f"c{i}", benefit=TEN_OFF).id for i in range(3)]
        auto = stored(session, name="auto", benefit=TEN_OFF).id
        offers.set_status(session, made[0], "paused")
    assert [r.id for r in database.read(lambda s: offers.performance(s, kind="automatic"))] == [
        auto
    ]
    assert [r.id for r in database.read(lambda s: offers.performance(s, status="paused"))] == [
        made[0]
    ]
    first = database.read(lambda s: offers.performance(s, limit=2))
    rest = database.read(lambda s: offers.performance(s, limit=2, offset=2))
    assert len(first) == 2 and len(rest) == 2
    assert {r.id for r in first + rest} == {*made, auto}
