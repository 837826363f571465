"""Segments: saved segments, members, snapshots, tags, lifecycle states and transitions.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the segment, tag and lifecycle tables."""
    op.create_table(
        "segments",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("refresh_minutes", sa.Integer(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("refreshed_at", TS, nullable=True),
        sa.Column("next_refresh_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_segments"),
        sa.UniqueConstraint("key", name="uq_segments_key"),
    )
    op.create_index("ix_segments_next_refresh_at", "segments", ["next_refresh_at"])
    op.create_table(
        "segment_members",
        sa.Column("segment_id", BIGID, nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "user_id", name="pk_segment_members"),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name="fk_segment_members_segment_id_segments",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_segment_members_user_id", "segment_members", ["user_id"])
    op.create_table(
        "segment_snapshots",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("segment_id", BIGID, nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_segment_snapshots"),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name="fk_segment_snapshots_segment_id_segments",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_segment_snapshots_segment_id", "segment_snapshots", ["segment_id"])
    op.create_table(
        "segment_changes",
        sa.Column("snapshot_id", BIGID, nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", "user_id", name="pk_segment_changes"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["segment_snapshots.id"],
            name="fk_segment_changes_snapshot_id_segment_snapshots",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "tags",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("refreshed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("key", name="uq_tags_key"),
    )
    op.create_table(
        "user_tags",
        sa.Column("tag_id", BIGID, nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tag_id", "user_id", name="pk_user_tags"),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name="fk_user_tags_tag_id_tags", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_user_tags_user_id", "user_tags", ["user_id"])
    op.create_table(
        "lifecycle_states",
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_lifecycle_states"),
    )
    op.create_table(
        "lifecycle_transitions",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("from_stage", sa.String(20), nullable=True),
        sa.Column("to_stage", sa.String(20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lifecycle_transitions"),
    )
    op.create_index(
        "ix_lifecycle_transitions_to_stage_day", "lifecycle_transitions", ["to_stage", "day"]
    )
    op.create_index("ix_lifecycle_transitions_user_id", "lifecycle_transitions", ["user_id"])


def downgrade() -> None:
    """Drop the segment, tag and lifecycle tables."""
    for table in (
        "lifecycle_transitions",
        "lifecycle_states",
        "user_tags",
        "tags",
        "segment_changes",
        "segment_snapshots",
        "segment_members",
        "segments",
    ):
        op.drop_table(table)
