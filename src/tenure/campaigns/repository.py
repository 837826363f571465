"""Every query on the campaign tables; leasing is `FOR UPDATE SKIP LOCKED` on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from tenure.campaigns.models import (
    CampaignRow,
    CampaignVersion,
    Consent,
    Contact,
    Decision,
    Enrollment,
    Holiday,
    InboxItem,
    Message,
    ShopPolicy,
    Suppression,
)
from tenure.kit.time import as_utc
from tenure.storage.bulk import Columns, insert_rows

CHUNK = 5000  # rows per bulk statement: under SQLite's and psycopg's parameter limits


def _table(model: Any) -> Table:
    """A model's Core table: bulk inserts skip the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)


# ---- campaigns and versions ---------------------------------------------------------------


def campaign(session: Session, key: str, *, lock: bool = False) -> CampaignRow | None:
    """One campaign row, optionally row-locked."""
    stmt = select(CampaignRow).where(CampaignRow.key == key)
    return session.scalars(stmt.with_for_update() if lock else stmt).first()


def campaigns(session: Session, status: str | None = None) -> list[CampaignRow]:
    """Campaigns by key, optionally of one status."""
    stmt = select(CampaignRow).order_by(CampaignRow.key)
    if status is not None:
        stmt = stmt.where(CampaignRow.status == status)
    return list(session.scalars(stmt))


def campaigns_with_documents(
    session: Session,
    statuses: Sequence[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[tuple[CampaignRow, dict[str, object]]]:
    """Campaigns with their current version's document, newest first (one query)."""
    stmt = (
        select(CampaignRow, CampaignVersion.document)
        .join(
            CampaignVersion,
            and_(
                CampaignVersion.campaign_key == CampaignRow.key,
                CampaignVersion.version == CampaignRow.version,
            ),
        )
        .order_by(CampaignRow.created_at.desc(), CampaignRow.key)
    )
    if statuses is not None:
        stmt = stmt.where(CampaignRow.status.in_(list(statuses)))
    stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(row, document) for row, document in session.execute(stmt).all()]


def campaign_count(session: Session, status: str | None = None) -> int:
    """How many campaigns there are (of one status)."""
    stmt = select(func.count()).select_from(CampaignRow)
    if status is not None:
        stmt = stmt.where(CampaignRow.status == status)
    return int(session.scalar(stmt) or 0)


def version(session: Session, key: str, number: int) -> CampaignVersion | None:
    """One saved version."""
    return session.get(CampaignVersion, (key, number))


def versions(session: Session, key: str) -> list[CampaignVersion]:
    """Every saved version of a campaign, oldest first."""
    stmt = select(CampaignVersion).where(CampaignVersion.campaign_key == key)
    return list(session.scalars(stmt.order_by(CampaignVersion.version)))


def add(session: Session, *rows: Any) -> None:
    """Stage rows and flush."""
    session.add_all(rows)
    session.flush()


# ---- enrolments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryHistory:
    """A campaign's past entries for some users: who is in the journey now, each user's
    latest entry (number, time), and the (user, source) pairs seen."""

    active: set[str]
    last: dict[str, tuple[int, datetime]]
    sources: set[tuple[str, str]]


def entry_history(session: Session, key: str, user_ids: Sequence[str]) -> EntryHistory:
    """The campaign's entries for these users, read in one pass for a large audience."""
    e = _table(Enrollment).c
    columns = (e.user_id, e.entry_no, e.entered_at, e.source, e.state)
    if len(user_ids) > 20 * CHUNK:
        wanted = set(user_ids)
        every = session.execute(select(*columns).where(e.campaign_key == key)).all()
        rows = [r for r in every if r[0] in wanted]
    else:
        rows = []
        for start in range(0, len(user_ids), CHUNK):
            chunk = list(user_ids[start : start + CHUNK])
            stmt = select(*columns).where(e.campaign_key == key, e.user_id.in_(chunk))
            rows.extend(session.execute(stmt).all())
    active: set[str] = set()
    last: dict[str, tuple[int, datetime]] = {}
    sources: set[tuple[str, str]] = set()
    for user, number, at, source, state in rows:
        sources.add((user, source))
        if state == "active":
            active.add(user)
        if user not in last or number > last[user][0]:
            last[user] = (number, as_utc(at))
    return EntryHistory(active, last, sources)


def insert_enrollments(
    session: Session, rows: list[dict[str, Any]], *, returning: bool = False
) -> list[int]:
    """Bulk insert of new enrolments of one campaign at one moment; with `returning`, their
    ids in the order of `rows`.

    The ids are read back by (user, entry) after the insert rather than with RETURNING, which
    SQLite's driver runs row by row. The caller holds the campaign's row lock, so no other
    enrolment of this campaign is inserted meanwhile.
    """
    for start in range(0, len(rows), CHUNK):
        insert_rows(session, _table(Enrollment), rows[start : start + CHUNK])
    if not returning or not rows:
        return []
    stmt = select(Enrollment.user_id, Enrollment.entry_no, Enrollment.id).where(
        Enrollment.campaign_key == rows[0]["campaign_key"],
        Enrollment.entered_at == rows[0]["entered_at"],
    )
    found = {(u, n): int(i) for u, n, i in session.execute(stmt).all()}
    return [found[(r["user_id"], r["entry_no"])] for r in rows]


def due_enrollments(
    session: Session, now: datetime, limit: int
) -> list[tuple[int, str, datetime, str, int]]:
    """(id, user, entered_at, campaign, version) of the most overdue active enrolments."""
    stmt = (
        select(
            Enrollment.id,
            Enrollment.user_id,
            Enrollment.entered_at,
            Enrollment.campaign_key,
            Enrollment.version,
        )
        .where(Enrollment.state == "active", Enrollment.next_at <= now)
        .order_by(Enrollment.next_at, Enrollment.id)
        .limit(limit)
    )
    return [(i, u, at, key, v) for i, u, at, key, v in session.execute(stmt)]


def lock_enrollments(session: Session, ids: Sequence[int], now: datetime) -> list[Enrollment]:
    """Those of the enrolments still due, row-locked; rows another worker holds are skipped."""
    rows: list[Enrollment] = []
    for start in range(0, len(ids), CHUNK):
        stmt = (
            select(Enrollment)
            .where(
                Enrollment.id.in_(list(ids[start : start + CHUNK])),
                Enrollment.state == "active",
                Enrollment.next_at <= now,
            )
            .order_by(Enrollment.id)
            .with_for_update(skip_locked=True)
        )
        rows.extend(session.scalars(stmt))
    return rows


def user_enrollments(session: Session, user_id: str) -> list[Enrollment]:
    """A user's enrolments, newest first."""
    stmt = select(Enrollment).where(Enrollment.user_id == user_id)
    return list(session.scalars(stmt.order_by(Enrollment.entered_at.desc(), Enrollment.id)))


def coupons_of(session: Session, ids: Sequence[int]) -> dict[int, str | None]:
    """The coupon code each enrolment was given (none yet: None)."""
    out: dict[int, str | None] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), CHUNK):
        stmt = select(Enrollment.id, Enrollment.coupon_code).where(
            Enrollment.id.in_(unique[start : start + CHUNK])
        )
        out.update({int(i): c for i, c in session.execute(stmt)})
    return out


def entries(session: Session, key: str) -> list[tuple[str, str, datetime]]:
    """(user, arm, entered_at) of every entry into a campaign."""
    stmt = select(Enrollment.user_id, Enrollment.arm, Enrollment.entered_at).where(
        Enrollment.campaign_key == key
    )
    return [(u, a, t) for u, a, t in session.execute(stmt)]


# ---- the outbox ---------------------------------------------------------------------------


def insert_messages(session: Session, rows: list[dict[str, Any]] | Columns) -> None:
    """Bulk insert of outbox rows (ids are idempotent; callers insert each once)."""
    insert_rows(session, _table(Message), rows)


def existing_messages(session: Session, ids: Sequence[str]) -> set[str]:
    """Which of these message ids exist already."""
    found: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        stmt = select(Message.id).where(Message.id.in_(list(ids[start : start + CHUNK])))
        found.update(session.scalars(stmt))
    return found


def lease_messages(session: Session, now: datetime, limit: int) -> list[Message]:
    """Due messages (queued, or leased by a worker whose lease ran out), row-locked.

    Higher priority first, so when a batch cuts a user's messages in two, the one left for
    the next batch is the lower one.
    """
    due = or_(
        and_(Message.status == "queued", Message.due_at <= now),
        and_(Message.status == "leased", Message.lease_until <= now),
    )
    stmt = (
        select(Message)
        .where(due)
        .order_by(Message.priority.desc(), Message.due_at, Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def lock_users(session: Session, user_ids: Sequence[str]) -> None:
    """Serialise cap decisions per user across workers (PostgreSQL advisory locks).

    SQLite needs nothing: the unit of work holds the one writer lock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for user in sorted(set(user_ids)):  # one order everywhere: no deadlock between workers
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:u))"), {"u": user})


def sends_since(
    session: Session, user_ids: Sequence[str], since: datetime, exclude: Sequence[str]
) -> list[tuple[str, datetime, str]]:
    """(user, sent_at, channel) of messages sent or in flight since `since`."""
    stmt = select(Message.user_id, Message.sent_at, Message.channel).where(
        Message.user_id.in_(list(user_ids)),
        Message.status.in_(("sent", "leased")),
        Message.sent_at >= since,
        Message.id.not_in(list(exclude)),
    )
    return [(u, at, ch) for u, at, ch in session.execute(stmt) if at is not None]


def message(session: Session, message_id: str, *, lock: bool = False) -> Message | None:
    """One outbox row."""
    stmt = select(Message).where(Message.id == message_id)
    return session.scalars(stmt.with_for_update() if lock else stmt).first()


def messages_locked(session: Session, ids: Sequence[str]) -> dict[str, Message]:
    """Outbox rows by id, row-locked."""
    out: dict[str, Message] = {}
    for start in range(0, len(ids), CHUNK):
        stmt = (
            select(Message)
            .where(Message.id.in_(list(ids[start : start + CHUNK])))
            .with_for_update()
        )
        out.update({m.id: m for m in session.scalars(stmt)})
    return out


def message_counts(session: Session, key: str) -> dict[tuple[str, str], int]:
    """(step, status) → messages."""
    stmt = (
        select(Message.step_id, Message.status, func.count())
        .where(Message.campaign_key == key)
        .group_by(Message.step_id, Message.status)
    )
    return {(s, st): int(n) for s, st, n in session.execute(stmt)}


def renew_leases(session: Session, ids: Sequence[str], worker: str, until: datetime) -> set[str]:
    """Push the lease end of the messages `worker` still holds; returns their ids."""
    kept: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        stmt = (
            update(Message)
            .where(
                Message.id.in_(list(ids[start : start + CHUNK])),
                Message.status == "leased",
                Message.leased_by == worker,
            )
            .values(lease_until=until)
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
        kept.update(session.scalars(stmt))
    return kept


# ---- decisions ----------------------------------------------------------------------------


def insert_decisions(session: Session, rows: list[dict[str, Any]] | Columns) -> None:
    """Bulk insert of decision rows."""
    insert_rows(session, _table(Decision), rows)


def decisions_of(session: Session, user_id: str, limit: int = 500) -> list[Decision]:
    """A user's decisions, newest first."""
    stmt = select(Decision).where(Decision.user_id == user_id)
    return list(session.scalars(stmt.order_by(Decision.at.desc(), Decision.id.desc()).limit(limit)))


def engaged(session: Session, key: str, step_id: str, user_id: str, action: str) -> bool:
    """Whether the user opened / clicked that step's message."""
    stmt = select(Decision.id).where(
        Decision.campaign_key == key,
        Decision.step_id == step_id,
        Decision.user_id == user_id,
        Decision.action == action,
    )
    return session.scalars(stmt.limit(1)).first() is not None


def rewards_given(session: Session, key: str) -> tuple[list[str], int]:
    """The coupon codes a campaign gave and the points it granted (held-out users get none)."""
    stmt = select(Decision.action, Decision.reason).where(
        Decision.campaign_key == key, Decision.action.in_(("coupon", "points"))
    )
    codes: list[str] = []
    points = 0
    for action, reason in session.execute(stmt):
        if action == "coupon" and reason:
            codes.append(reason)
        elif action == "points" and reason:
            points += int(reason)
    return codes, points


def decision_counts(session: Session, key: str) -> dict[tuple[str | None, str], int]:
    """(step, action) → decisions."""
    stmt = (
        select(Decision.step_id, Decision.action, func.count(func.distinct(Decision.user_id)))
        .where(Decision.campaign_key == key)
        .group_by(Decision.step_id, Decision.action)
    )
    return {(s, a): int(n) for s, a, n in session.execute(stmt)}


# ---- contacts, consent, suppression, inbox, calendar, policy ------------------------------


def contact_rows(session: Session, user_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """(user, email, phone, push_token, locale) of the users that have a contact row."""
    c = Contact.__table__.c
    columns = (c.user_id, c.email, c.phone, c.push_token, c.locale)
    return _rows_for(session, columns, c.user_id, user_ids)


def consent_rows(session: Session, user_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """(user, channel, status) of the users' consents."""
    c = Consent.__table__.c
    return _rows_for(session, (c.user_id, c.channel, c.status), c.user_id, user_ids)


def _rows_for(
    session: Session, columns: Sequence[Any], key: Any, user_ids: Sequence[str]
) -> list[tuple[Any, ...]]:
    # A large audience reads the whole table once: cheaper than hundreds of IN lists.
    if len(user_ids) > 20 * CHUNK:
        wanted = set(user_ids)
        return [tuple(r) for r in session.execute(select(*columns)).all() if r[0] in wanted]
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(user_ids), CHUNK):
        stmt = select(*columns).where(key.in_(list(user_ids[start : start + CHUNK])))
        out.extend(tuple(r) for r in session.execute(stmt))
    return out


def suppressions(session: Session) -> set[tuple[str, str]]:
    """Every suppressed (channel, address)."""
    return {(c, a) for c, a in session.execute(select(Suppression.channel, Suppression.address))}


def contacts(session: Session, user_ids: Sequence[str]) -> dict[str, Contact]:
    """Contact rows by user."""
    out: dict[str, Contact] = {}
    for start in range(0, len(user_ids), CHUNK):
        chunk = list(user_ids[start : start + CHUNK])
        out.update(
            {
                c.user_id: c
                for c in session.scalars(select(Contact).where(Contact.user_id.in_(chunk)))
            }
        )
    return out


def consents(session: Session, user_ids: Sequence[str]) -> dict[tuple[str, str], Consent]:
    """Consent rows by (user, channel)."""
    out: dict[tuple[str, str], Consent] = {}
    for start in range(0, len(user_ids), CHUNK):
        chunk = list(user_ids[start : start + CHUNK])
        rows = session.scalars(select(Consent).where(Consent.user_id.in_(chunk)))
        out.update({(c.user_id, c.channel): c for c in rows})
    return out


def suppressed(session: Session, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (channel, address) pairs are suppressed."""
    if not pairs:
        return set()
    addresses = sorted({a for _, a in pairs})
    out: set[tuple[str, str]] = set()
    for start in range(0, len(addresses), CHUNK):
        stmt = select(Suppression.channel, Suppression.address).where(
            Suppression.address.in_(addresses[start : start + CHUNK])
        )
        out.update((c, a) for c, a in session.execute(stmt))
    return out & set(pairs)


def suppression(session: Session, channel: str, address: str) -> Suppression | None:
    """One suppression row."""
    return session.get(Suppression, (channel, address))


def consent(session: Session, user_id: str, channel: str) -> Consent | None:
    """One consent row."""
    return session.get(Consent, (user_id, channel))


def contact(session: Session, user_id: str) -> Contact | None:
    """One contact row."""
    return session.get(Contact, user_id)


def inbox(session: Session, user_id: str, now: datetime, limit: int) -> list[InboxItem]:
    """A user's unexpired inbox messages, newest first."""
    live = or_(InboxItem.expires_at.is_(None), InboxItem.expires_at > now)
    stmt = select(InboxItem).where(InboxItem.user_id == user_id, live)
    return list(
        session.scalars(stmt.order_by(InboxItem.created_at.desc(), InboxItem.id).limit(limit))
    )


def inbox_item(session: Session, user_id: str, item_id: str) -> InboxItem | None:
    """One inbox message of a user."""
    item = session.get(InboxItem, item_id)
    return item if item is not None and item.user_id == user_id else None


def holidays(session: Session) -> list[Holiday]:
    """The shop calendar, by day."""
    return list(session.scalars(select(Holiday).order_by(Holiday.day, Holiday.key)))


def holiday(session: Session, key: str, day: date) -> Holiday | None:
    """One day of the shop calendar."""
    return session.get(Holiday, (key, day))


def policy(session: Session) -> ShopPolicy | None:
    """The shop's campaign policy row."""
    return session.get(ShopPolicy, "current")
