"""Alembic environment: runs migrations on the engine handed over by vp_monitor.db.upgrade."""

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

import vp_monitor.models  # noqa: F401  (registers every table on Base.metadata)
from vp_monitor.db import Base, make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))

# SQLite batch migrations reflect the tables they touch and those their foreign keys name;
# SQLAlchemy cannot reflect the expression index uq_camera_code_lower and warns, though no
# batch recreates the camera table (the index stays). A user running `db upgrade` or `make
# demo` would see the warning as if something were wrong.
warnings.filterwarnings(
    "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
)

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
