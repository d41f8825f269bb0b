"""camera status: the last history row of each tier

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:10:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db  # noqa: F401  (custom column types)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("camera_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("camera_status", schema=None) as batch_op:
        batch_op.drop_column("recorded")
