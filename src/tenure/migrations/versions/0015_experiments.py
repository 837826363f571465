"""Experiments: the experiments and the assignments users carry over from anonymous ids.

Revision ID: 0015
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the experiment tables."""
    op.create_table(
        "experiments",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("allocation", sa.JSON(), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("phase_started_at", TS, nullable=True),
        sa.Column("stopped_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_experiments")),
    )
    op.create_table(
        "experiment_assignments",
        sa.Column("experiment_key", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=200), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("from_unit", sa.String(length=200), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint(
            "experiment_key", "unit_id", name=op.f("pk_experiment_assignments")
        ),
    )
    op.create_index("ix_experiment_assignments_unit", "experiment_assignments", ["unit_id"])


def downgrade() -> None:
    """Drop the experiment tables."""
    op.drop_index("ix_experiment_assignments_unit", table_name="experiment_assignments")
    op.drop_table("experiment_assignments")
    op.drop_table("experiments")
