"""thumbnails: the latest picture each camera's checks decoded, small, for the status wall

Revision ID: 0016_thumbnails
Revises: 0015_ptz
Create Date: 2026-12-02 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db  # noqa: F401  (custom column types)

revision = "0016_thumbnails"
down_revision = "0015_ptz"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_thumbnail",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["camera.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("camera_id"),
    )


def downgrade() -> None:
    op.drop_table("camera_thumbnail")
