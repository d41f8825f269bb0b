"""ptz: a reference image per PTZ preset, and when a held condition was first seen

A PTZ camera keeps one reference per preset (`reference_image.preset`, NULL for a fixed
view); `camera_status.held_since` keeps when each condition opened after a time (ptz_not_home)
was first seen in its current run.

Revision ID: 0015_ptz
Revises: 0014_provisional_references
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_ptz"
down_revision = "0014_provisional_references"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reference_image", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preset", sa.String(length=64), nullable=True))
    with op.batch_alter_table("camera_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_since", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("camera_status", schema=None) as batch_op:
        batch_op.drop_column("held_since")
    with op.batch_alter_table("reference_image", schema=None) as batch_op:
        batch_op.drop_column("preset")
