"""availability days: each camera's availability per UTC day, kept after its history is pruned

Revision ID: 0017_availability_days
Revises: 0016_thumbnails
Create Date: 2026-12-03 15:30:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db  # noqa: F401  (custom column types)

revision = "0017_availability_days"
down_revision = "0016_thumbnails"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "availability_day",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("up_s", sa.Float(), nullable=False),
        sa.Column("down_s", sa.Float(), nullable=False),
        sa.Column("degraded_s", sa.Float(), nullable=False),
        sa.Column("maintenance_s", sa.Float(), nullable=False),
        sa.Column("unknown_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["camera.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("camera_id", "day"),
    )
    op.create_index("ix_availability_day_day", "availability_day", ["day"])
    op.create_table(
        "availability_rollup",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cameras", sa.Integer(), nullable=False),
        sa.Column("rolled_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("availability_rollup")
    op.drop_index("ix_availability_day_day", table_name="availability_day")
    op.drop_table("availability_day")
