"""Campaigns and journeys: campaigns, versions, enrolments, the outbox, decisions, contacts,
consents, suppressions, the in-app inbox, the shop calendar and the campaign policy.

Revision ID: 0014
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TABLES = (
    "campaign_decisions",
    "campaign_enrollments",
    "campaign_holidays",
    "campaign_messages",
    "campaign_policy",
    "campaign_versions",
    "campaigns",
    "consents",
    "contacts",
    "inbox_messages",
    "suppressions",
)


def upgrade() -> None:
    """Create the campaign tables."""
    op.create_table(
        "campaign_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("until", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_decisions")),
    )
    op.create_index(
        "ix_campaign_decisions_campaign",
        "campaign_decisions",
        ["campaign_key", "action"],
        unique=False,
    )
    op.create_index(
        "ix_campaign_decisions_user", "campaign_decisions", ["user_id", "at"], unique=False
    )
    op.create_table(
        "campaign_enrollments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("entry_no", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("next_at", TS, nullable=False),
        sa.Column("entered_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("coupon_code", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_enrollments")),
        sa.UniqueConstraint(
            "campaign_key", "user_id", "source", name="uq_campaign_enrollment_source"
        ),
    )
    op.create_index(
        "ix_campaign_enrollments_due", "campaign_enrollments", ["state", "next_at"], unique=False
    )
    op.create_index(
        "ix_campaign_enrollments_user",
        "campaign_enrollments",
        ["user_id", "campaign_key"],
        unique=False,
    )
    op.create_table(
        "campaign_holidays",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key", "day", name=op.f("pk_campaign_holidays")),
    )
    op.create_table(
        "campaign_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "enrollment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("transactional", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_messages")),
    )
    op.create_index(
        "ix_campaign_messages_campaign",
        "campaign_messages",
        ["campaign_key", "step_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_campaign_messages_due", "campaign_messages", ["status", "due_at"], unique=False
    )
    op.create_index(
        "ix_campaign_messages_user", "campaign_messages", ["user_id", "sent_at"], unique=False
    )
    op.create_table(
        "campaign_policy",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_policy")),
    )
    op.create_table(
        "campaign_versions",
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("campaign_key", "version", name=op.f("pk_campaign_versions")),
    )
    op.create_table(
        "campaigns",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("next_run_at", TS, nullable=True),
        sa.Column("cursor", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "consents",
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "channel", name=op.f("pk_consents")),
    )
    op.create_table(
        "contacts",
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("push_token", sa.String(length=400), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_contacts")),
    )
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_messages")),
    )
    op.create_index(
        "ix_inbox_messages_user", "inbox_messages", ["user_id", "created_at"], unique=False
    )
    op.create_table(
        "suppressions",
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=400), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("channel", "address", name=op.f("pk_suppressions")),
    )


def downgrade() -> None:
    """Drop the campaign tables."""
    for table in reversed(TABLES):
        op.drop_table(table)
