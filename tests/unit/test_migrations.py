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


def test_open_camera_incidents_start_from_the_recorded_camera_state(tmp_path):
    """0009_oneway: an unresolved camera incident takes its camera's state and since from
    camera_status (alerting reads only its own tables afterwards); a resolved one stays empty."""
    from datetime import UTC, datetime

    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from vp_monitor.alerts.models import Incident
    from vp_monitor.db import make_engine, upgrade
    from vp_monitor.monitor.models import CameraStatus
    from vp_monitor.registry.models import Camera, Municipality, Site

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0008")
    since = [datetime(2026, 11, 23, 10, minute, tzinfo=UTC) for minute in (1, 2)]
    with Session(engine) as session, session.begin():  # tables 0009_oneway leaves as they are
        town = Municipality(insee="92012", name="Boulogne", departement="92")
        site = Site(name="S", municipality=town)
        session.add_all([Camera(id=n, code=f"C{n}", site=site, municipality=town) for n in (1, 2)])
        session.flush()
        session.add_all(
            [CameraStatus(camera_id=n, state="down", since=since[n - 1]) for n in (1, 2)]
        )
    with engine.begin() as connection:
        for incident_id, camera_id, status in (("open", 1, "open"), ("done", 2, "resolved")):
            connection.execute(text(
                "INSERT INTO incident (id, kind, camera_id, status, severity, conditions, "
                "metrics, silenced, opened_at, reopened_count, escalation_level) VALUES "
                f"('{incident_id}', 'camera', {camera_id}, '{status}', 'major', '[]', '{{}}', 0, "
                "'2026-11-23 10:00:00.000000', 0, 0)"
            ))  # fmt: skip
    upgrade(engine)
    with Session(engine) as session:
        rows = session.execute(
            select(Incident.id, Incident.camera_state, Incident.camera_state_since).order_by(
                Incident.id
            )
        ).all()
    assert [tuple(row) for row in rows] == [("done", None, None), ("open", "down", since[0])]


def test_upgrade_says_nothing_alarming_and_keeps_the_code_index(tmp_path):
    """A new user's first `db upgrade` (or `make demo`) prints no SQLAlchemy warning, and the
    case-insensitive unique index on camera codes survives every batch migration on SQLite."""
    import warnings

    from sqlalchemy import text

    from vp_monitor.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'quiet.db'}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        upgrade(engine)
    assert [str(w.message) for w in caught] == []
    with engine.connect() as connection:  # the inspector cannot reflect an expression index
        indexes = connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
        assert "uq_camera_code_lower" in set(indexes)
