"""The schema built by Alembic migrations is exactly the one the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import vp_monitor.models  # noqa: F401
from vp_monitor.db import Base


def test_migrations_match_models(engine):
    """Alembic's autogenerate finds no difference between the migrated schema and the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
