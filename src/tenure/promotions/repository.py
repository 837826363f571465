"""All queries on the promotion tables; counters move only by conditional UPDATEs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tenure.promotions.models import (
    PromoCode,
    PromoCustomer,
    PromoOffer,
    PromoRedemption,
    PromoRefund,
    PromoReservation,
)

# Redemptions that count against per-user limits: held, used, and refunded-but-kept.
COUNTING = ("held", "used", "refunded")


def add(session: Session, row: Any) -> None:
    """Stage a new row."""
    session.add(row)
    session.flush()


def offer_by_id(session: Session, offer_id: str) -> PromoOffer | None:
    """The offer with this id."""
    return session.get(PromoOffer, offer_id)


def offers(
    session: Session,
    status: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[PromoOffer]:
    """Offers, newest first, optionally by status and kind, optionally one page of them."""
    query = select(PromoOffer).order_by(PromoOffer.created_at.desc(), PromoOffer.id)
    if status:
        query = query.where(PromoOffer.status == status)
    if kind:
        query = query.where(PromoOffer.kind == kind)
    return list(session.scalars(query.limit(limit).offset(offset)))


def redemption_totals(
    session: Session, offer_ids: Iterable[str]
) -> dict[str, dict[str, tuple[int, int]]]:
    """Per offer and redemption status: (redemptions, value in minor units)."""
    wanted = sorted(set(offer_ids))
    if not wanted:
        return {}
    query = (
        select(
            PromoRedemption.offer_id,
            PromoRedemption.status,
            func.count(),
            func.coalesce(func.sum(PromoRedemption.value_minor), 0),
        )
        .where(PromoRedemption.offer_id.in_(wanted))
        .group_by(PromoRedemption.offer_id, PromoRedemption.status)
    )
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for offer_id, status, count, value in session.execute(query):
        out.setdefault(str(offer_id), {})[str(status)] = (int(count), int(value))
    return out


def code_counts(session: Session, offer_ids: Iterable[str]) -> dict[str, int]:
    """Codes issued per offer."""
    wanted = sorted(set(offer_ids))
    if not wanted:
        return {}
    query = (
        select(PromoCode.offer_id, func.count())
        .where(PromoCode.offer_id.in_(wanted))
        .group_by(PromoCode.offer_id)
    )
    return {str(offer_id): int(n) for offer_id, n in session.execute(query)}


# The checkout's read queries are built once: building a SQLAlchemy expression per request costs
# about as much as running it on a warm database.
_LIVE = select(PromoOffer).where(
    PromoOffer.status == "active",
    PromoOffer.kind == "automatic",
    PromoOffer.currency == bindparam("currency"),
)
_OFFERS_BY_ID = select(PromoOffer).where(PromoOffer.id.in_(bindparam("ids", expanding=True)))
_CODES = select(PromoCode).where(PromoCode.code.in_(bindparam("codes", expanding=True)))
_WALLET = (
    select(PromoCode)
    .where(PromoCode.user_id == bindparam("user_id"), PromoCode.status == "active")
    .where((PromoCode.max_uses.is_(None)) | (PromoCode.used_count < PromoCode.max_uses))
    .order_by(PromoCode.created_at, PromoCode.id)
)
_USAGE = (
    select(PromoRedemption.offer_id, func.count())
    .where(PromoRedemption.user_id == bindparam("user_id"))
    .where(PromoRedemption.offer_id.in_(bindparam("ids", expanding=True)))
    .where(PromoRedemption.status.in_(COUNTING))
    .group_by(PromoRedemption.offer_id)
)


def live_automatic(session: Session, currency: str) -> list[PromoOffer]:
    """Active automatic promotions in a currency (the window is checked by the caller)."""
    return list(session.scalars(_LIVE, {"currency": currency}))


def offers_by_ids(session: Session, ids: Iterable[str]) -> dict[str, PromoOffer]:
    """Offers by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {o.id: o for o in session.scalars(_OFFERS_BY_ID, {"ids": wanted})}


def codes_by_text(session: Session, texts: Iterable[str]) -> dict[str, PromoCode]:
    """Codes by their (normalised) text."""
    wanted = sorted(set(texts))
    if not wanted:
        return {}
    return {c.code: c for c in session.scalars(_CODES, {"codes": wanted})}


def wallet(session: Session, user_id: str) -> list[PromoCode]:
    """A customer's enabled wallet coupons that still have uses."""
    return list(session.scalars(_WALLET, {"user_id": user_id}))


def usage_by_user(
    session: Session, user_id: str | None, offer_ids: Iterable[str]
) -> dict[str, int]:
    """How many times the customer holds or has used each offer."""
    wanted = sorted(set(offer_ids))
    if user_id is None or not wanted:
        return {}
    rows = session.execute(_USAGE, {"user_id": user_id, "ids": wanted})
    return {offer_id: int(n) for offer_id, n in rows}


def redemption_counts(session: Session, offer_ids: Iterable[str]) -> dict[str, int]:
    """Holds and uses per offer (what `used_count` says for offers without limits)."""
    wanted = sorted(set(offer_ids))
    if not wanted:
        return {}
    query = (
        select(PromoRedemption.offer_id, func.count())
        .where(PromoRedemption.offer_id.in_(wanted), PromoRedemption.status.in_(COUNTING))
        .group_by(PromoRedemption.offer_id)
    )
    return {offer_id: int(n) for offer_id, n in session.execute(query)}


def confirmed_orders(session: Session, user_id: str | None) -> int:
    """Orders the customer has paid through checkout."""
    if user_id is None:
        return 0
    row = session.get(PromoCustomer, user_id)
    return row.confirmed_orders if row else 0


def existing_codes(session: Session, texts: list[str]) -> set[str]:
    """Which of these code texts are taken."""
    found: set[str] = set()
    for start in range(0, len(texts), 5000):
        chunk = texts[start : start + 5000]
        found |= set(session.scalars(select(PromoCode.code).where(PromoCode.code.in_(chunk))))
    return found


def insert_codes(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk-insert codes."""
    for start in range(0, len(rows), 5000):
        session.execute(insert(PromoCode), rows[start : start + 5000])


def _changed(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def take_code(session: Session, code_id: int) -> bool:
    """Use a code once if it has uses left; atomic (row lock, WHERE re-checked on the new row)."""
    query = (
        update(PromoCode)
        .where(PromoCode.id == code_id, PromoCode.status == "active")
        .where((PromoCode.max_uses.is_(None)) | (PromoCode.used_count < PromoCode.max_uses))
        .values(used_count=PromoCode.used_count + 1)
    )
    return _changed(session.execute(query, execution_options={"synchronize_session": False})) == 1


def lock_code(session: Session, text: str) -> PromoCode | None:
    """A code by its text, row-locked (a concurrent checkout's conditional take waits on it)."""
    query = select(PromoCode).where(PromoCode.code == text).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).first()


def give_back_code(session: Session, code_id: int) -> None:
    """Return one use of a code."""
    query = (
        update(PromoCode)
        .where(PromoCode.id == code_id, PromoCode.used_count > 0)
        .values(used_count=PromoCode.used_count - 1)
    )
    session.execute(query, execution_options={"synchronize_session": False})


def take_offer(session: Session, offer_id: str, value_minor: int, units: int) -> bool:
    """Hold one use, `value_minor` of budget and `units` of stock, only if all three fit."""
    o = PromoOffer
    query = (
        update(o)
        .where(o.id == offer_id)
        .where((o.total_limit.is_(None)) | (o.used_count + 1 <= o.total_limit))
        .where((o.budget_minor.is_(None)) | (o.spent_minor + value_minor <= o.budget_minor))
        .where((o.stock.is_(None)) | (o.stock_used + units <= o.stock))
        .values(
            used_count=o.used_count + 1,
            spent_minor=o.spent_minor + value_minor,
            stock_used=o.stock_used + units,
        )
    )
    return _changed(session.execute(query, execution_options={"synchronize_session": False})) == 1


def give_back_offer(session: Session, offer_id: str, value_minor: int, units: int) -> None:
    """Return one use, its budget and its units."""
    o = PromoOffer
    query = (
        update(o)
        .where(o.id == offer_id)
        .values(
            used_count=o.used_count - 1,
            spent_minor=o.spent_minor - value_minor,
            stock_used=o.stock_used - units,
        )
    )
    session.execute(query, execution_options={"synchronize_session": False})


def reservation(
    session: Session, reservation_id: str, lock: bool = False
) -> PromoReservation | None:
    """A reservation, row-locked when `lock` (PostgreSQL; SQLite serialises writers anyway)."""
    query = select(PromoReservation).where(PromoReservation.id == reservation_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def reservation_by_key(session: Session, key: str) -> PromoReservation | None:
    """The reservation made with this idempotency key."""
    query = select(PromoReservation).where(PromoReservation.idempotency_key == key)
    return session.scalars(query).first()


def redemptions(session: Session, reservation_id: str) -> list[PromoRedemption]:
    """The offers a reservation holds."""
    query = (
        select(PromoRedemption)
        .where(PromoRedemption.reservation_id == reservation_id)
        .order_by(PromoRedemption.id)
    )
    return list(session.scalars(query))


def refunds(session: Session, reservation_id: str) -> list[PromoRefund]:
    """A reservation's refunds, oldest first."""
    query = (
        select(PromoRefund)
        .where(PromoRefund.reservation_id == reservation_id)
        .order_by(PromoRefund.id)
    )
    return list(session.scalars(query))


def refund_by_id(session: Session, reservation_id: str, refund_id: str) -> PromoRefund | None:
    """One refund of a reservation by the shop's refund id."""
    query = select(PromoRefund).where(
        PromoRefund.reservation_id == reservation_id, PromoRefund.refund_id == refund_id
    )
    return session.scalars(query).first()


def expired_held(session: Session, now: datetime, limit: int) -> list[PromoReservation]:
    """Held reservations past their expiry, locked; rows another sweeper holds are skipped."""
    query = (
        select(PromoReservation)
        .where(PromoReservation.status == "held", PromoReservation.expires_at <= now)
        .order_by(PromoReservation.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def count_order(session: Session, user_id: str, now: datetime) -> None:
    """One more paid order for the customer (an upsert, safe under concurrent confirmations)."""
    dialect = session.get_bind().dialect.name
    values = {
        "user_id": user_id,
        "confirmed_orders": 1,
        "first_order_at": now,
        "last_order_at": now,
    }
    table = PromoCustomer.__table__
    assert isinstance(table, Table)
    if dialect == "postgresql":
        pg = postgresql.insert(table).values(**values)
        query: Any = pg.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"confirmed_orders": table.c.confirmed_orders + 1, "last_order_at": now},
        )
    else:
        lite = sqlite.insert(table).values(**values)
        query = lite.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"confirmed_orders": table.c.confirmed_orders + 1, "last_order_at": now},
        )
    session.execute(query)


def discounts_between(
    session: Session, since: datetime, until: datetime, currency: str
) -> list[tuple[str, datetime, int]]:
    """(user, when, discount in minor units) of every used redemption in one currency."""
    stmt = (
        select(PromoRedemption.user_id, PromoRedemption.created_at, PromoRedemption.value_minor)
        .join(PromoReservation, PromoReservation.id == PromoRedemption.reservation_id)
        .where(
            PromoRedemption.status.in_(("used", "refunded")),
            PromoRedemption.user_id.is_not(None),
            PromoRedemption.created_at >= since,
            PromoRedemption.created_at < until,
            PromoReservation.currency == currency,
        )
    )
    return [(str(u), at, int(v)) for u, at, v in session.execute(stmt)]


def redeemed_value_of_codes(session: Session, texts: Iterable[str]) -> list[tuple[str, int, int]]:
    """(currency, redemptions, value in minor units) of the used redemptions of these codes."""
    wanted = sorted(set(texts))
    out: dict[str, list[int]] = {}
    for start in range(0, len(wanted), 5000):
        stmt = (
            select(PromoReservation.currency, func.count(), func.sum(PromoRedemption.value_minor))
            .join(PromoCode, PromoCode.id == PromoRedemption.code_id)
            .join(PromoReservation, PromoReservation.id == PromoRedemption.reservation_id)
            .where(
                PromoCode.code.in_(wanted[start : start + 5000]), PromoRedemption.status == "used"
            )
            .group_by(PromoReservation.currency)
        )
        for currency, count, value in session.execute(stmt):
            total = out.setdefault(str(currency), [0, 0])
            total[0] += int(count)
            total[1] += int(value or 0)
    return [(c, n, v) for c, (n, v) in sorted(out.items())]


def redemptions_by_offer(
    session: Session, since: datetime, until: datetime
) -> list[tuple[str, str, int, int]]:
    """(offer id, currency, redemptions, discount in minor units) of the redemptions made in
    [since, until) that were used (a refund that kept one used still counts)."""
    stmt = (
        select(
            PromoRedemption.offer_id,
            PromoReservation.currency,
            func.count(),
            func.sum(PromoRedemption.value_minor),
        )
        .join(PromoReservation, PromoReservation.id == PromoRedemption.reservation_id)
        .where(
            PromoRedemption.status.in_(("used", "refunded")),
            PromoRedemption.created_at >= since,
            PromoRedemption.created_at < until,
        )
        .group_by(PromoRedemption.offer_id, PromoReservation.currency)
    )
    return [(str(o), str(c), int(n), int(v or 0)) for o, c, n, v in session.execute(stmt)]
