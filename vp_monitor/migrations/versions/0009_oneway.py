"""oneway: an incident keeps the camera state alerting was last told, and since when

Alerting no longer reads the monitor's camera_status: the evaluator's CameraChange carries the
state, and the incident remembers it. Unresolved camera incidents start from camera_status.

Revision ID: 0009_oneway
Revises: 0008
Create Date: 2026-12-01 23:00:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db  # noqa: F401  (custom column types)

revision = "0009_oneway"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("camera_state", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("camera_state_since", vp_monitor.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(
        """
        UPDATE incident SET
            camera_state = (SELECT state FROM camera_status
                            WHERE camera_status.camera_id = incident.camera_id),
            camera_state_since = (SELECT since FROM camera_status
                                  WHERE camera_status.camera_id = incident.camera_id)
        WHERE camera_id IS NOT NULL AND status != 'resolved'
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("camera_state_since")
        batch_op.drop_column("camera_state")
