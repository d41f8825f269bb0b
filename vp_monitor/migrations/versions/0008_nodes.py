"""nodes: each serve node's heartbeat row; periodic jobs one node runs for all

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "node",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("started_at", vp_monitor.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", vp_monitor.db.UTCDateTime(), nullable=False),
        sa.Column("checks_per_minute", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node")),
    )
    op.create_table(
        "periodic_job",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("next_run_at", vp_monitor.db.UTCDateTime(), nullable=False),
        sa.Column("last_run_at", vp_monitor.db.UTCDateTime(), nullable=True),
        sa.Column("last_node", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_job")),
    )


def downgrade() -> None:
    op.drop_table("periodic_job")
    op.drop_table("node")
