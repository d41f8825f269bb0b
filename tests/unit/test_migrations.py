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


def test_migrations_upgrade_from_empty_and_downgrade(tmp_path):
    """Every migration applies on an empty database and can be rolled back to nothing."""
    from sqlalchemy import inspect

    from vp_monitor.db import alembic_config, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    assert "camera" in inspect(engine).get_table_names()
    from alembic import command

    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
