"""Incidents from camera changes: open, update, resolve, reopen within grace, acknowledge.

`record_change` runs in the evaluator's transaction, so an incident change and the outbox rows
it causes are committed together or not at all.

An incident keeps the figures of the check that opened it (`metrics`, the evidence) and those
of its worst moment (`worst`); later checks change neither unless they are worse. The latest
figures are the camera's (`CameraStatus.metrics`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vp_monitor.alerts import correlation, routing
from vp_monitor.alerts.models import Incident
from vp_monitor.alerts.notification import iso_utc
from vp_monitor.alerts.settings import SEVERITY_RANK, AlertSettings
from vp_monitor.db import utcnow
from vp_monitor.events.record import INCIDENT_ACKNOWLEDGED, INCIDENT_OPENED, INCIDENT_RESOLVED
from vp_monitor.monitor.events import CameraChange
from vp_monitor.registry.models import Camera

CAMERA_KINDS = ("camera", "flapping")
# A camera down with no named condition still has no usable video.
DOWN_WITHOUT_CONDITION = ("no_video",)


class IncidentNotFound(LookupError):
    """No incident has this id."""


@dataclass(frozen=True)
class OpenIncidents:
    """Which of a batch's cameras have an unresolved incident, and which sites are in outage.

    Most checks find a camera ok that was ok: for those `record_change` opens nothing, resolves
    nothing and has no outage to end, yet costs several queries. Loaded once for a batch (after
    its cameras' status rows are locked, so no other writer changes their incidents meanwhile),
    this says which changes can skip it. Load it again after any `record_change`: what that
    did may concern the next change.
    """

    cameras: frozenset[int]
    sites: frozenset[int]

    @classmethod
    def load(cls, session: Session, camera_ids: list[int]) -> OpenIncidents:
        """The unresolved incidents of these cameras and every site outage, in two queries."""
        query = select(Incident.camera_id).where(
            Incident.camera_id.in_(camera_ids),
            Incident.kind.in_(CAMERA_KINDS),
            Incident.status != "resolved",
        )
        sites = correlation.sites_in_outage(session)
        return cls(frozenset(session.scalars(query)), frozenset(sites))

    def concern(self, change: CameraChange, site_id: int) -> bool:
        """Whether `record_change` has anything to do for this change of a camera on `site_id`."""
        if change.state == "unknown":
            return False  # record_change waits for a verdict
        if change.state != "ok" or change.flapping or change.camera_id in self.cameras:
            return True  # a problem to open or update, or an incident to resolve
        return site_id in self.sites  # an ok camera may end its site's outage (on_camera_up)


def record_change(
    session: Session, change: CameraChange, settings: AlertSettings
) -> Incident | None:
    """Turn one evaluated check into incident changes and outbox rows; returns the incident."""
    camera = session.get(Camera, change.camera_id)
    if camera is None:
        return None
    current = open_incident(session, camera.id)
    # Checks older than its last (re)opening are replays from before a crash: they change nothing.
    if current is not None and change.at < routing.told_since(current):
        return current  # a check older than the incident's last opening, replayed after a crash
    if change.state == "unknown":
        return current  # the evaluator is not sure yet: neither open nor resolve anything
    problem = _is_problem(change)
    if current is None:
        incident = _open_or_reopen(session, camera, change, settings) if problem else None
    elif problem:
        incident = _update(session, current, camera, change, settings)
    else:
        incident = resolve(session, current, change.at, settings, camera_state=change.state)
    if problem and incident is not None:
        correlation.check_parent(session, incident.parent_id, change.at, settings)
    elif change.state == "ok":
        correlation.on_camera_up(session, camera, change.at, settings)
    return incident


def open_incident(session: Session, camera_id: int) -> Incident | None:
    """The camera's unresolved incident (there is at most one)."""
    query = select(Incident).where(
        Incident.camera_id == camera_id,
        Incident.kind.in_(CAMERA_KINDS),
        Incident.status != "resolved",
    )
    return session.scalars(query.order_by(Incident.opened_at.desc()).limit(1)).first()


def resolve(
    session: Session,
    incident: Incident,
    at: datetime,
    settings: AlertSettings,
    *,
    camera_state: str = "ok",
) -> Incident:
    """Mark the incident resolved at `at` and tell whoever heard about it."""
    incident.status = "resolved"
    incident.resolved_at = at
    if incident.camera_id is not None:
        _note_camera_state(incident, camera_state, at)
    session.flush()
    routing.announce(session, incident, INCIDENT_RESOLVED, at, "resolved")
    if not routing.take_back_held_opening(session, incident, at, settings):  # else not told
        routing.tell(session, incident, "resolved", settings, at, camera_state=camera_state)
    if incident.parent_id is not None:
        correlation.check_parent(session, incident.parent_id, at, settings)
    return incident


def acknowledge(
    session: Session,
    incident_id: str,
    by: str,
    note: str = "",
    settings: AlertSettings | None = None,
    now: datetime | None = None,
) -> Incident:
    """Record that `by` took the incident in hand; stops escalation and reminders."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(incident_id)
    if incident.status != "open":
        return incident  # resolved, or acknowledged already: nothing new to tell
    now = now or utcnow()
    incident.status = "acknowledged"
    incident.acknowledged_at = now
    incident.acknowledged_by = by
    incident.acknowledgement_note = note
    session.flush()
    routing.announce(session, incident, INCIDENT_ACKNOWLEDGED, now, "acknowledged")
    routing.tell(session, incident, "acknowledged", settings or AlertSettings(), now)
    return incident


def _is_problem(change: CameraChange) -> bool:
    if change.state == "decommissioned":
        return False
    return change.flapping or change.state == "down" or bool(change.conditions)


def _conditions(change: CameraChange) -> list[str]:
    names = set(change.conditions)
    if change.state == "down" and not names:
        names.update(DOWN_WITHOUT_CONDITION)
    if change.flapping:
        names.add("flapping")
    return sorted(names)


def _open_or_reopen(
    session: Session, camera: Camera, change: CameraChange, settings: AlertSettings
) -> Incident | None:
    last = _last_resolved(session, camera.id)
    if last is not None and last.resolved_at >= change.at:
        return None  # a check from before the recovery, replayed after a crash
    grace = timedelta(seconds=settings.reopen_grace_s)
    if last is not None and change.at - last.resolved_at <= grace:
        incident, event = last, "reopened"
        incident.status = "open"
        incident.resolved_at = None
        incident.acknowledged_at = incident.acknowledged_by = None
        incident.acknowledgement_note = None
        incident.reopened_count += 1
        incident.last_reminder_at = change.at
        incident.parent_id = None
        incident.silenced = change.in_maintenance
    else:
        incident, event = Incident(id=str(uuid.uuid4()), camera_id=camera.id), "opened"
        incident.site_id = camera.site_id
        incident.opened_at = change.at
        incident.silenced = change.in_maintenance
        incident.status = "open"
        incident.reopened_count = incident.escalation_level = 0
        incident.metrics = dict(change.metrics)  # the evidence: kept as it is from now on
        session.add(incident)
    _apply(incident, change, settings)
    session.flush()
    correlation.on_camera_problem(session, incident, camera, change, settings)
    routing.announce(session, incident, INCIDENT_OPENED, change.at, event)
    routing.tell(session, incident, event, settings, change.at, camera_state=change.state)
    return incident


def _update(
    session: Session,
    incident: Incident,
    camera: Camera,
    change: CameraChange,
    settings: AlertSettings,
) -> Incident:
    before = incident.severity
    _apply(incident, change, settings)
    session.flush()
    if change.state == "down":
        correlation.on_camera_problem(session, incident, camera, change, settings)
    if incident.silenced and not change.in_maintenance:
        # Maintenance is over and the problem is still there: now it is news.
        incident.silenced = False
        routing.tell(session, incident, "opened", settings, change.at, camera_state=change.state)
    elif SEVERITY_RANK[incident.severity] > SEVERITY_RANK[before]:
        _tell_newly_concerned(session, incident, change, settings)
    return incident


def _tell_newly_concerned(
    session: Session, incident: Incident, change: CameraChange, settings: AlertSettings
) -> None:
    """Worse now: tell the contacts whose minimum severity it now reaches, and only them."""
    told = {contact.id for contact in routing.told_contacts(session, incident.id)}
    fresh = [c for c in routing.recipients(session, incident, "opened") if c.id not in told]
    routing.tell(
        session, incident, "opened", settings, change.at, camera_state=change.state, contacts=fresh
    )


def _apply(incident: Incident, change: CameraChange, settings: AlertSettings) -> None:
    """Copy what the check saw: conditions, severity, evidence, flapping; its figures if it is
    the incident's worst moment so far."""
    incident.conditions = _conditions(change)
    incident.severity = settings.severity_of(incident.conditions)
    _note_camera_state(incident, change.state, change.at)
    if change.flapping:
        incident.kind = "flapping"
    elif incident.kind is None:
        incident.kind = "camera"
    moment = {"at": iso_utc(change.at), "state": change.state, "severity": incident.severity,
              "conditions": list(incident.conditions), "metrics": dict(change.metrics)}  # fmt: skip
    if incident.worst is None or _gravity(moment) > _gravity(incident.worst):
        incident.worst = moment  # as bad as before is not worse: the first such moment stays
    if change.evidence_jpeg and (change.opened or incident.evidence_jpeg is None):
        incident.evidence_jpeg = change.evidence_jpeg


def _note_camera_state(incident: Incident, state: str, at: datetime) -> None:
    """Remember the camera's state as told, and since when (routing and correlation read it)."""
    if incident.camera_state != state:
        incident.camera_state_since = at
    incident.camera_state = state


def _gravity(moment: dict[str, Any]) -> tuple[int, bool, int]:
    """How bad a moment of an incident was: severity, then no video, then how many conditions."""
    severity = SEVERITY_RANK.get(moment.get("severity", ""), 0)
    return (severity, moment.get("state") == "down", len(moment.get("conditions") or []))


def _last_resolved(session: Session, camera_id: int) -> Incident | None:
    query = select(Incident).where(
        Incident.camera_id == camera_id,
        Incident.kind.in_(CAMERA_KINDS),
        Incident.status == "resolved",
    )
    return session.scalars(query.order_by(Incident.resolved_at.desc()).limit(1)).first()
