"""Queries on accounts, the ledger, orders, redemptions and program versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tenure.loyalty.models import (
    Account,
    Entry,
    ExpiryNotice,
    Lot,
    Membership,
    Order,
    ProgramVersion,
    Redemption,
    Reward,
    RewardClaim,
    TaskCompletion,
    Transaction,
)

BUCKETS = ("available", "pending", "reserved")


@dataclass(frozen=True)
class Balances:
    """Points per bucket: spendable, waiting for the return window, held by a checkout."""

    available: int = 0
    pending: int = 0
    reserved: int = 0


def ensure_account(session: Session, user_id: str, now: datetime) -> None:
    """Create the member's account row if missing; concurrent callers never collide."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Account).values(user_id=user_id, created_at=now).on_conflict_do_nothing()
    session.execute(stmt)


def lock_account(session: Session, user_id: str) -> Account:
    """The account row, locked until the unit of work ends (FOR UPDATE; SQLite: the write lock)."""
    stmt = select(Account).where(Account.user_id == user_id).with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


def get_account(session: Session, user_id: str) -> Account | None:
    """The account, unlocked."""
    return session.get(Account, user_id)


def all_user_ids(session: Session) -> list[str]:
    """Every member."""
    return list(session.scalars(select(Account.user_id).order_by(Account.user_id)))


def tiered_accounts(session: Session) -> list[Account]:
    """Accounts that hold a tier (candidates for a downgrade review)."""
    return list(session.scalars(select(Account).where(Account.tier.is_not(None))))


def transaction_by_key(session: Session, key: str) -> Transaction | None:
    """The transaction recorded under an idempotency key."""
    return session.scalars(select(Transaction).where(Transaction.idempotency_key == key)).first()


def get_transaction(session: Session, tx_id: str) -> Transaction | None:
    """One transaction by id."""
    return session.get(Transaction, tx_id)


def add(session: Session, *rows: object) -> None:
    """Stage rows and flush, so a unique-key clash surfaces here."""
    session.add_all(rows)
    session.flush()


def balances(session: Session, user_id: str) -> Balances:
    """Sum of the member's entries per bucket."""
    stmt = (
        select(Entry.bucket, func.coalesce(func.sum(Entry.points), 0))
        .where(Entry.user_id == user_id)
        .group_by(Entry.bucket)
    )
    sums = {bucket: int(total) for bucket, total in session.execute(stmt)}
    return Balances(*(sums.get(b, 0) for b in BUCKETS))


def open_lots(
    session: Session, user_id: str, bucket: str, lot_ids: Sequence[str] | None = None
) -> list[tuple[Lot, int]]:
    """Lots with points left in `bucket`, soonest-expiring first (the FIFO spending order)."""
    remaining = func.sum(Entry.points).label("remaining")
    stmt = (
        select(Lot, remaining)
        .join(Entry, Entry.lot_id == Lot.id)
        .where(Entry.user_id == user_id, Entry.bucket == bucket)
        .group_by(Lot.id)
        .having(func.sum(Entry.points) > 0)
        .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.earned_at, Lot.id)
    )
    if lot_ids is not None:
        stmt = stmt.where(Lot.id.in_(list(lot_ids)))
    return [(lot, int(left)) for lot, left in session.execute(stmt)]


def transaction_lot_points(session: Session, tx_id: str, bucket: str) -> list[tuple[str, int]]:
    """Per lot, the points a transaction posted to `bucket`."""
    stmt = (
        select(Entry.lot_id, func.sum(Entry.points))
        .where(Entry.transaction_id == tx_id, Entry.bucket == bucket)
        .group_by(Entry.lot_id)
        .order_by(Entry.lot_id)
    )
    return [(lot_id, int(points)) for lot_id, points in session.execute(stmt)]


def history(
    session: Session, user_id: str, limit: int, before: datetime | None = None
) -> list[Transaction]:
    """The member's transactions, newest first."""
    stmt = select(Transaction).where(Transaction.user_id == user_id)
    if before is not None:
        stmt = stmt.where(Transaction.created_at < before)
    stmt = stmt.order_by(Transaction.created_at.desc(), Transaction.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def lots_of_order(session: Session, order_id: str) -> list[Lot]:
    """Lots earned by an order."""
    return list(session.scalars(select(Lot).where(Lot.order_id == order_id).order_by(Lot.id)))


def due_lots(session: Session, bucket: str, column: str, now: datetime) -> list[tuple[str, str]]:
    """(user, lot) with points left in `bucket` whose `confirm_at`/`expires_at` has passed."""
    when = getattr(Lot, column)
    stmt = (
        select(Lot.user_id, Lot.id)
        .join(Entry, and_(Entry.lot_id == Lot.id, Entry.bucket == bucket))
        .where(when.is_not(None), when <= now)
        .group_by(Lot.user_id, Lot.id)
        .having(func.sum(Entry.points) > 0)
        .order_by(Lot.user_id, Lot.id)
    )
    return [(u, lot) for u, lot in session.execute(stmt)]


def expiring_without_notice(
    session: Session, now: datetime, until: datetime
) -> list[tuple[Lot, int]]:
    """Lots with available points expiring in (now, until] that have no reminder yet."""
    stmt = (
        select(Lot, func.sum(Entry.points))
        .join(Entry, and_(Entry.lot_id == Lot.id, Entry.bucket == "available"))
        .outerjoin(ExpiryNotice, ExpiryNotice.lot_id == Lot.id)
        .where(ExpiryNotice.lot_id.is_(None), Lot.expires_at > now, Lot.expires_at <= until)
        .group_by(Lot.id)
        .having(func.sum(Entry.points) > 0)
        .order_by(Lot.expires_at, Lot.id)
    )
    return [(lot, int(points)) for lot, points in session.execute(stmt)]


def notices(session: Session, since: datetime | None, limit: int) -> list[ExpiryNotice]:
    """Expiry reminders, oldest first."""
    stmt = select(ExpiryNotice)
    if since is not None:
        stmt = stmt.where(ExpiryNotice.created_at > since)
    return list(session.scalars(stmt.order_by(ExpiryNotice.created_at).limit(limit)))


def earn_stats(
    session: Session, user_id: str, reason_prefix: str, since: datetime | None, until: datetime
) -> tuple[int, int]:
    """(count, points) of earn transactions whose reason starts with the prefix, in a window."""
    stmt = select(func.count(), func.coalesce(func.sum(Transaction.available_delta), 0)).where(
        Transaction.user_id == user_id,
        Transaction.kind == "earn",
        Transaction.reason.startswith(reason_prefix),
        Transaction.created_at < until,
    )
    if since is not None:
        stmt = stmt.where(Transaction.created_at >= since)
    count, points = session.execute(stmt).one()
    return int(count), int(points)


def earned_points_in_window(
    session: Session, user_id: str, since: datetime, until: datetime
) -> int:
    """Points earned minus points reversed in a window (the points tier basis)."""
    delta = Transaction.available_delta + Transaction.pending_delta
    stmt = select(func.coalesce(func.sum(delta), 0)).where(
        Transaction.user_id == user_id,
        Transaction.kind.in_(("earn", "reverse")),
        Transaction.created_at > since,
        Transaction.created_at <= until,
    )
    return int(session.scalar(stmt) or 0)


def bucket_totals(session: Session) -> Balances:
    """Program-wide sum per bucket (the outstanding points)."""
    stmt = select(Entry.bucket, func.coalesce(func.sum(Entry.points), 0)).group_by(Entry.bucket)
    sums = {bucket: int(total) for bucket, total in session.execute(stmt)}
    return Balances(*(sums.get(b, 0) for b in BUCKETS))


def outflow_by_kind(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """Points that left the program per kind (expire, spend, redeem) in a window, as positives."""
    stmt = (
        select(Transaction.kind, func.coalesce(func.sum(Transaction.available_delta), 0))
        .where(
            Transaction.kind.in_(("expire", "spend")),
            Transaction.created_at > since,
            Transaction.created_at <= until,
        )
        .group_by(Transaction.kind)
    )
    out = {kind: -int(total) for kind, total in session.execute(stmt)}
    consumed = select(func.coalesce(func.sum(Transaction.reserved_delta), 0)).where(
        Transaction.kind == "redeem",
        Transaction.created_at > since,
        Transaction.created_at <= until,
    )
    out["redeem"] = -int(session.scalar(consumed) or 0)
    return out


def points_spent_between(
    session: Session, since: datetime, until: datetime
) -> list[tuple[str, datetime, int]]:
    """(user, when, points) of every spend and checkout redemption in [since, until)."""
    columns = (Transaction.available_delta, Transaction.reserved_delta)
    spent = select(Transaction.user_id, Transaction.created_at, Transaction.kind, *columns).where(
        Transaction.kind.in_(("spend", "redeem")),
        Transaction.created_at >= since,
        Transaction.created_at < until,
    )
    out = []
    for user, at, kind, available, reserved in session.execute(spent):
        points = -int(reserved) if kind == "redeem" else -int(available)
        out.append((str(user), at, points))
    return out


def expiring_between(session: Session, start: datetime, end: datetime) -> int:
    """Available points in lots expiring in [start, end)."""
    inner = (
        select(func.sum(Entry.points).label("left"))
        .join(Lot, Lot.id == Entry.lot_id)
        .where(Entry.bucket == "available", Lot.expires_at >= start, Lot.expires_at < end)
        .group_by(Lot.id)
        .having(func.sum(Entry.points) > 0)
        .subquery()
    )
    return int(session.scalar(select(func.coalesce(func.sum(inner.c.left), 0))) or 0)


def get_order(session: Session, order_id: str) -> Order | None:
    """An order by id."""
    return session.get(Order, order_id)


def has_other_orders(session: Session, user_id: str, order_id: str) -> bool:
    """Whether the member has any paid order besides this one."""
    stmt = select(Order.order_id).where(Order.user_id == user_id, Order.order_id != order_id)
    return session.scalars(stmt.limit(1)).first() is not None


def spend_in_window(session: Session, user_id: str, since: datetime, until: datetime) -> int:
    """Net spend (paid minus refunded) of orders paid in (since, until]."""
    stmt = select(func.coalesce(func.sum(Order.amount_minor - Order.refunded_minor), 0)).where(
        Order.user_id == user_id, Order.paid_at > since, Order.paid_at <= until
    )
    return int(session.scalar(stmt) or 0)


def get_redemption(session: Session, redemption_id: str) -> Redemption | None:
    """A redemption by id (re-read from the database)."""
    stmt = select(Redemption).where(Redemption.id == redemption_id)
    return session.scalars(stmt.execution_options(populate_existing=True)).first()


def redemption_by_key(session: Session, key: str) -> Redemption | None:
    """The redemption made under an idempotency key."""
    return session.scalars(select(Redemption).where(Redemption.idempotency_key == key)).first()


def stale_reservations(session: Session, now: datetime) -> list[tuple[str, str]]:
    """(user, redemption) still reserved after their hold expired."""
    stmt = (
        select(Redemption.user_id, Redemption.id)
        .where(Redemption.status == "reserved", Redemption.expires_at <= now)
        .order_by(Redemption.expires_at)
    )
    return [(u, r) for u, r in session.execute(stmt)]


def latest_program(session: Session) -> ProgramVersion | None:
    """The live program version."""
    stmt = select(ProgramVersion).order_by(ProgramVersion.version.desc()).limit(1)
    return session.scalars(stmt).first()


def program_versions(session: Session, limit: int) -> list[ProgramVersion]:
    """Saved program versions, newest first."""
    stmt = select(ProgramVersion).order_by(ProgramVersion.version.desc()).limit(limit)
    return list(session.scalars(stmt))


def reversed_for_order(session: Session, order_id: str) -> int:
    """Points already reversed for an order's refunds, counting what could not be taken."""
    taken = Transaction.available_delta + Transaction.pending_delta - Transaction.shortfall
    stmt = select(func.coalesce(func.sum(taken), 0)).where(
        Transaction.kind == "reverse", Transaction.order_id == order_id
    )
    return -int(session.scalar(stmt) or 0)


def reversed_for_reference(session: Session, user_id: str, reference: str) -> int:
    """Points already reversed against one transaction (an award), counting what could not be."""
    taken = Transaction.available_delta + Transaction.pending_delta - Transaction.shortfall
    # The user filter lets the (user_id, kind) index find the rows; `reference` has none.
    stmt = select(func.coalesce(func.sum(taken), 0)).where(
        Transaction.user_id == user_id,
        Transaction.kind == "reverse",
        Transaction.reference == reference,
    )
    return -int(session.scalar(stmt) or 0)


def lot_of_transaction(session: Session, tx_id: str) -> Lot | None:
    """The lot an earn transaction created (found through its entries, which are indexed)."""
    stmt = select(Lot).join(Entry, Entry.lot_id == Lot.id).where(Entry.transaction_id == tx_id)
    return session.scalars(stmt.limit(1)).first()


def memberships_until(session: Session, user_id: str, after: datetime) -> list[Membership]:
    """The member's paid periods that end after `after`, in order."""
    stmt = (
        select(Membership)
        .where(Membership.user_id == user_id, Membership.expires_at > after)
        .order_by(Membership.starts_at)
    )
    return list(session.scalars(stmt))


def membership_by_payment(session: Session, payment_ref: str) -> Membership | None:
    """The period paid by one payment."""
    stmt = select(Membership).where(Membership.payment_ref == payment_ref)
    return session.scalars(stmt).first()


def task_completions(session: Session, user_id: str) -> dict[str, TaskCompletion]:
    """The member's completed tasks by code."""
    stmt = select(TaskCompletion).where(TaskCompletion.user_id == user_id)
    return {row.task: row for row in session.scalars(stmt)}


def rewards_by_cost(session: Session, include_inactive: bool) -> list[Reward]:
    """Rewards, cheapest first."""
    stmt = select(Reward).order_by(Reward.points_cost, Reward.code)
    if not include_inactive:
        stmt = stmt.where(Reward.active.is_(True))
    return list(session.scalars(stmt))


def lock_reward(session: Session, code: str) -> Reward | None:
    """A reward row, locked (its stock changes under this lock)."""
    stmt = select(Reward).where(Reward.code == code).with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).first()


def claim_of_transaction(session: Session, tx_id: str) -> RewardClaim:
    """The claim a spend transaction paid for."""
    return session.scalars(select(RewardClaim).where(RewardClaim.transaction_id == tx_id)).one()


def available_of(session: Session, user_ids: Sequence[str]) -> dict[str, int]:
    """Spendable points of each of the users that has any entry."""
    stmt = (
        select(Entry.user_id, func.coalesce(func.sum(Entry.points), 0))
        .where(Entry.user_id.in_(list(user_ids)), Entry.bucket == "available")
        .group_by(Entry.user_id)
    )
    return {str(u): int(p) for u, p in session.execute(stmt)}


def tiers_of(session: Session, user_ids: Sequence[str]) -> dict[str, str | None]:
    """The stored tier of each of the users that has an account."""
    stmt = select(Account.user_id, Account.tier).where(Account.user_id.in_(list(user_ids)))
    return {str(u): t for u, t in session.execute(stmt)}


def accounts_per_tier(session: Session) -> dict[str | None, int]:
    """How many accounts store each tier code (None: no tier recorded yet)."""
    stmt = select(Account.tier, func.count()).group_by(Account.tier)
    return {tier: int(n) for tier, n in session.execute(stmt)}
