"""list indexes: incidents newest first, and unresolved ones by severity

With 100,000 resolved incidents on PostgreSQL, the incident list (newest first, a page of 50)
sorted the whole history: 70-100 ms a page, 15-25 ms with ix_incident_opened_at. The cameras
of a severity (the camera list's filter and its severity column) read every incident: 27-34 ms
for the page's ids and 19-70 ms for its rows; with ix_incident_unresolved, a partial index on
the few hundred unresolved ones, 5-9 ms and about 1 ms.

Revision ID: 0012_list_indexes
Revises: 0011_change_events
Create Date: 2026-12-02 01:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_list_indexes"
down_revision = "0011_change_events"
branch_labels = None
depends_on = None


UNRESOLVED = sa.text("status != 'resolved'")


def upgrade() -> None:
    op.create_index("ix_incident_opened_at", "incident", ["opened_at"])
    op.create_index("ix_incident_unresolved", "incident", ["severity", "camera_id"],
                    postgresql_where=UNRESOLVED, sqlite_where=UNRESOLVED)  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_incident_unresolved", table_name="incident")
    op.drop_index("ix_incident_opened_at", table_name="incident")
