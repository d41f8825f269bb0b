"""The one function every writer calls: a change row in the transaction of the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from vp_monitor.db import utcnow
from vp_monitor.events.models import ChangeEvent
from vp_monitor.registry.models import Camera, Site

CAMERA_STATE = "camera.state"
INCIDENT_OPENED = "incident.opened"
INCIDENT_ACKNOWLEDGED = "incident.acknowledged"
INCIDENT_RESOLVED = "incident.resolved"
KINDS = (CAMERA_STATE, INCIDENT_OPENED, INCIDENT_ACKNOWLEDGED, INCIDENT_RESOLVED)
CHANNEL = "vp_events"  # PostgreSQL NOTIFY channel the web nodes LISTEN on


def record_event(
    session: Session,
    kind: str,
    *,
    at: datetime,
    camera_id: int | None = None,
    site_id: int | None = None,
    **payload: Any,
) -> int:
    """Write one change event about a camera (or else a site) in the session's transaction;
    returns its id. The camera's code, site and municipality are filled in here.

    On PostgreSQL a NOTIFY carrying the id goes with it: delivered at commit, never for a
    transaction rolled back, like the row itself.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    municipality_id = None
    camera = session.get(Camera, camera_id) if camera_id is not None else None
    if camera is not None:
        site_id, municipality_id = camera.site_id, camera.municipality_id
        payload = {"camera": camera.code, **payload}
    elif site_id is not None:
        site = session.get(Site, site_id)
        municipality_id = site.municipality_id if site is not None else None
    postgres = session.get_bind().dialect.name == "postgresql"
    # The database's clock, at insert time (not now(), the transaction's start): readers
    # compare it with their own reading of that clock to judge how long an id gap has lasted.
    written_at = func.clock_timestamp() if postgres else utcnow()
    event_id = session.execute(
        insert(ChangeEvent)
        .values(kind=kind, at=at, written_at=written_at, camera_id=camera_id, site_id=site_id,
                municipality_id=municipality_id, payload=payload)
        .returning(ChangeEvent.id)
    ).scalar_one()  # fmt: skip
    if postgres:
        session.execute(select(func.pg_notify(CHANNEL, str(event_id))))
    return event_id
