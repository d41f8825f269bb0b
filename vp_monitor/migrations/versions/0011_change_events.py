"""change events: one row per change a live client is told of (camera states, incidents)

Revision ID: 0011_change_events
Revises: 0010_accounts
Create Date: 2026-12-02 01:30:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db

revision = "0011_change_events"
down_revision = "0010_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("at", vp_monitor.db.UTCDateTime(), nullable=False),
        sa.Column("written_at", vp_monitor.db.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_event")),
        sqlite_autoincrement=True,
    )  # fmt: skip
    op.create_index(op.f("ix_change_event_at"), "change_event", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_change_event_at"), table_name="change_event")
    op.drop_table("change_event")
