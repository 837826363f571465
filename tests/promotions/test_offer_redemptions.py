"""What each offer gave in a window: used redemptions and their discount, per currency, on
SQLite and PostgreSQL (the weekly review's offers section)."""

from __future__ import annotations

from datetime import timedelta

from tenure.promotions.service import offers, reservations
from tenure.storage.database import Database

from .builders import NOW, reserve_body, stored

TEN_OFF = {"type": "amount_off", "amount_minor": 1000}
FIVE_OFF = {"type": "amount_off", "amount_minor": 500}


def test_used_redemptions_in_the_window_per_offer(database: Database) -> None:
    def work(session):  # type: ignore[no-untyped-def]
        big = stored(session, benefit=TEN_OFF, name="Ten off", exclusive=True, priority=200)
        small = stored(session, benefit=FIVE_OFF, name="Five off", exclusive=True, priority=100)
        uses = [("k1", "u1", NOW), ("k2", "u2", NOW + timedelta(hours=1)),
                ("k3", "u3", NOW + timedelta(days=8))]  # fmt: skip
        for key, user, at in uses:
            held = reservations.reserve(session, reserve_body(user_id=user), key, "USD", at)
            reservations.confirm(session, held.id, f"order-{key}", at)
        held = reservations.reserve(session, reserve_body(user_id="u4"), "k4", "USD", NOW)
        reservations.release(session, held.id, NOW)  # released: gave nothing
        return big.id, small.id

    big, small = database.write(work)
    found = database.read(
        lambda s: offers.redemptions_between(s, NOW - timedelta(days=1), NOW + timedelta(days=7))
    )
    assert [
        (u.offer_id, u.name, u.kind, u.currency, u.redemptions, u.discount_minor) for u in found
    ] == [(big, "Ten off", "automatic", "USD", 2, 2000)]
    assert small not in {u.offer_id for u in found}  # exclusive: the bigger one won every cart
    assert (
        database.read(lambda s: offers.redemptions_between(s, NOW - timedelta(days=9), NOW)) == []
    )
