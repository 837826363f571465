"""Campaign tables: campaigns and versions, enrolments, the outbox, decisions, contacts, inbox."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.storage.database import Base
from tenure.storage.types import UtcDateTime


class CampaignRow(Base):
    """A campaign: its state and current version (the document is in campaign_versions)."""

    __tablename__ = "campaigns"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # draft / active / paused / finished
    version: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Audience runs (once / recurring) and the trigger scan move this mark forward.
    next_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cursor: Mapped[str | None] = mapped_column(String(200), nullable=True)


class CampaignVersion(Base):
    """One saved version of a campaign document; enrolments point at the one they entered."""

    __tablename__ = "campaign_versions"

    campaign_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Enrollment(Base):
    """One user's pass through one campaign: their group, step and when to look again."""

    __tablename__ = "campaign_enrollments"
    __table_args__ = (
        # What brought the user in (an event id, a transition, a date, an audience run): the
        # same cause never enters the same user twice, however often the scan overlaps. Entry
        # numbers are given under the campaign's row lock.
        UniqueConstraint("campaign_key", "user_id", "source", name="uq_campaign_enrollment_source"),
        Index("ix_campaign_enrollments_due", "state", "next_at"),
        Index("ix_campaign_enrollments_user", "user_id", "campaign_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    campaign_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(200))
    entry_no: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))
    arm: Mapped[str] = mapped_column(String(16))  # treatment / holdout / control
    state: Mapped[str] = mapped_column(String(16))  # active / done / exited
    step_id: Mapped[str] = mapped_column(String(64))
    next_at: Mapped[datetime] = mapped_column(UtcDateTime())
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    coupon_code: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Message(Base):
    """The outbox: one row per (enrolment, send step); its id, a hash of the two, is the
    idempotent message id, so the primary key is what keeps a step from queueing twice."""

    __tablename__ = "campaign_messages"
    __table_args__ = (
        Index("ix_campaign_messages_due", "status", "due_at"),
        Index("ix_campaign_messages_user", "user_id", "sent_at"),
        Index("ix_campaign_messages_campaign", "campaign_key", "step_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    campaign_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(8))
    priority: Mapped[int] = mapped_column(Integer)
    # queued / leased / sent / failed / dead / dropped / skipped
    status: Mapped[str] = mapped_column(String(12))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    transactional: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    leased_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(16), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Decision(Base):
    """Every decision about a user in a campaign: entered, sent, deferred until T, dropped …"""

    __tablename__ = "campaign_decisions"
    __table_args__ = (
        Index("ix_campaign_decisions_user", "user_id", "at"),
        Index("ix_campaign_decisions_campaign", "campaign_key", "action"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    campaign_key: Mapped[str] = mapped_column(String(64))
    step_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_id: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Contact(Base):
    """How to reach a user and in which language and zone."""

    __tablename__ = "contacts"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    push_token: Mapped[str | None] = mapped_column(String(400), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(16), nullable=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Consent(Base):
    """A user's consent on one channel: opted_in / opted_out, with its source and time."""

    __tablename__ = "consents"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class Suppression(Base):
    """An address never to send to again (hard bounce, complaint, operator)."""

    __tablename__ = "suppressions"

    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    address: Mapped[str] = mapped_column(String(400), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboxItem(Base):
    """A message in a user's in-app inbox, read by the shop's app."""

    __tablename__ = "inbox_messages"
    __table_args__ = (Index("ix_inbox_messages_user", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200))
    campaign_key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Holiday(Base):
    """A day of the shop calendar that holiday campaigns trigger on (seeded, editable)."""

    __tablename__ = "campaign_holidays"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))


class ShopPolicy(Base):
    """The shop-wide campaign defaults: caps, quiet hours, the global control share."""

    __tablename__ = "campaign_policy"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    document: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
