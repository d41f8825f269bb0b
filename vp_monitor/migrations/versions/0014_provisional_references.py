"""provisional references: a reference learned by the monitor, and the candidates on the way

A camera without an approved reference of a kind learns a provisional one after a run of
healthy image checks (monitor.provisional_reference_after): `reference_image.provisional`
marks it, and `reference_candidate` holds each run (its count and clearest frame so far).

Revision ID: 0014_provisional_references
Revises: 0013_account_enabled
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db  # noqa: F401  (custom column types)

revision = "0014_provisional_references"
down_revision = "0013_account_enabled"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reference_image", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provisional", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "reference_candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("healthy_checks", sa.Integer(), nullable=False),
        sa.Column("first_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sharpness", sa.Float(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_reference_candidate_camera_id_camera"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_candidate")),
        sa.UniqueConstraint("camera_id", "kind", name="uq_reference_candidate_camera_kind"),
    )


def downgrade() -> None:
    op.drop_table("reference_candidate")
    with op.batch_alter_table("reference_image", schema=None) as batch_op:
        batch_op.drop_column("provisional")
