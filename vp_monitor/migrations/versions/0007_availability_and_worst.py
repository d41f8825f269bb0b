"""figures: tiers a camera was judged by, a history row's availability, an incident's worst moment

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db  # noqa: F401  (custom column types)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("camera_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tiers_checked", sa.JSON(), nullable=True))
    with op.batch_alter_table("check_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("availability", sa.String(length=10), nullable=True))
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worst", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("worst")
    with op.batch_alter_table("check_record", schema=None) as batch_op:
        batch_op.drop_column("availability")
    with op.batch_alter_table("camera_status", schema=None) as batch_op:
        batch_op.drop_column("tiers_checked")
