"""Tracking inbox as one row per call (newline-delimited JSON) instead of one row per message.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_OLD = sa.table(
    "tracking_inbox",
    *(sa.column(name) for name in ("id", "message_id", "type", "user_id", "anonymous_id")),
    *(sa.column(name) for name in ("previous_id", "name", "payload")),
    sa.column("ts", _TIME),
    sa.column("received_at", _TIME),
)


def _iso(value: Any) -> str:
    # SQLite hands back naive datetimes; they were stored in UTC.
    return str(value.isoformat() if value.tzinfo else value.isoformat() + "+00:00")


def _line(row: Any) -> str:
    payload = json.loads(row.payload or "{}")

    def text(key: str) -> str | None:
        value = payload.get(key)
        return json.dumps(value, separators=(",", ":")) if value else None

    return json.dumps(
        {
            "message_id": row.message_id,
            "type": row.type,
            "user_id": row.user_id,
            "anonymous_id": row.anonymous_id,
            "previous_id": row.previous_id,
            "group_id": payload.get("group_id"),
            "name": row.name,
            "ts": _iso(row.ts),
            "received_at": _iso(row.received_at),
            "properties": text("properties"),
            "traits": text("traits"),
            "context": text("context"),
        },
        separators=(",", ":"),
    )


def upgrade() -> None:
    """Create tracking_batches, carry waiting messages over, drop tracking_inbox."""
    batches = op.create_table(
        "tracking_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("messages", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tracking_batches"),
    )
    bind = op.get_bind()
    old = bind.execute(sa.select(_OLD).order_by(_OLD.c.id)).all()
    for start in range(0, len(old), 1000):
        chunk = old[start : start + 1000]
        bind.execute(
            sa.insert(batches).values(
                received_at=chunk[-1].received_at,
                count=len(chunk),
                messages="\n".join(_line(row) for row in chunk),
            )
        )
    op.drop_table("tracking_inbox")


def downgrade() -> None:
    """Back to one row per message (waiting messages are not carried back)."""
    op.create_table(
        "tracking_inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=True),
        sa.Column("anonymous_id", sa.String(200), nullable=True),
        sa.Column("previous_id", sa.String(200), nullable=True),
        sa.Column("name", sa.String(500), nullable=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tracking_inbox"),
        sa.UniqueConstraint("message_id", name="uq_tracking_inbox_message_id"),
    )
    op.drop_table("tracking_batches")
