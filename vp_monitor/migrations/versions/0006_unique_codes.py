"""camera: asset codes unique whatever their case

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(code) FROM camera GROUP BY lower(code) HAVING count(*) > 1"
                " ORDER BY lower(code)"
            )
        )
        .scalars()
        .all()
    )
    if clashes:
        raise RuntimeError(
            "asset codes that differ only by case must be merged before this upgrade: "
            + ", ".join(clashes)
        )
    op.create_index("uq_camera_code_lower", "camera", [sa.text("lower(code)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_camera_code_lower", table_name="camera")
