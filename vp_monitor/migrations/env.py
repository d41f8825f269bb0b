"""Alembic environment: runs migrations on the engine handed over by vp_monitor.db.upgrade."""

from alembic import context

import vp_monitor.models  # noqa: F401  (registers every table on Base.metadata)
from vp_monitor.db import Base, make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
