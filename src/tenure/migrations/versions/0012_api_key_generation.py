"""API keys: a generation counter, so every process sees a revocation on its next request.

Revision ID: 0012
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create api_key_state with its one row, generation 0."""
    state = op.create_table(
        "api_key_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_key_state"),
    )
    op.bulk_insert(state, [{"id": 1, "generation": 0}])


def downgrade() -> None:
    """Drop api_key_state."""
    op.drop_table("api_key_state")
