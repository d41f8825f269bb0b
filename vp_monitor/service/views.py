"""Read models: what operators, technicians and municipalities look at, each within a Scope.

Plain records (dicts of plain values) so that the command line prints them and the web serves
them as JSON alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from vp_monitor.alerts.models import Incident
from vp_monitor.redaction import masked_recipient
from vp_monitor.registry.models import Camera, Site
from vp_monitor.registry.service import NotFound
from vp_monitor.service.lists import (
    STATE_ORDER,
    CameraFilters,
    IncidentFilters,
    camera_items,
    incident_records,
    list_cameras,
    list_maintenance,
    status_summary,
)
from vp_monitor.service.scope import Scope, incidents_in

WITH_PLACES = (selectinload(Camera.site), selectinload(Camera.municipality))
__all__ = ["STATE_ORDER"]  # re-exported: the order of the status wall


# -- cameras -----------------------------------------------------------------------------------
def find_camera(session: Session, scope: Scope, code: str) -> Camera:
    """The camera with this code (whatever its case) inside the scope, or NotFound."""
    query = (
        select(Camera)
        .options(*WITH_PLACES)
        .where(func.lower(Camera.code) == code.lower(), scope.cameras())
    )
    found = session.scalar(query)
    if found is None:
        raise NotFound("camera.unknown", code=code)
    return found


def camera_detail(session: Session, scope: Scope, code: str) -> dict[str, Any]:
    """One camera: its registry record, its current state and conditions, its severity, its
    open incident (an item of the camera list: the same fields), the figures of its latest
    check, and whether its references in force are approved or provisional."""
    from vp_monitor.monitor.models import CameraStatus

    camera = find_camera(session, scope, code)
    current = session.get(CameraStatus, camera.id)
    metrics = dict(current.metrics or {}) if current else {}
    return {**camera_items(session, scope, [camera.id])[0], "metrics": metrics,
            "references": reference_status(session, camera.id)}  # fmt: skip


def reference_jpeg(session: Session, scope: Scope, code: str, kind: str) -> bytes:
    """The camera's reference image of `kind` (day or night) in force (the newest approved,
    else the newest provisional), or NotFound."""
    from vp_monitor.registry.service import references_in_force

    camera = find_camera(session, scope, code)
    found = references_in_force(session, [camera.id]).get(camera.id, {}).get(kind)
    if found is None:
        raise NotFound("reference.none", code=camera.code, kind=kind)
    return found.jpeg


def thumbnail_jpeg(session: Session, scope: Scope, code: str) -> bytes:
    """The latest picture the camera's checks decoded, small (the wall's tile); until a check
    decoded one, its day reference in force; else NotFound."""
    from vp_monitor.monitor.models import CameraThumbnail

    camera = find_camera(session, scope, code)
    thumbnail = session.get(CameraThumbnail, camera.id)
    if thumbnail is not None:
        return thumbnail.jpeg
    return reference_jpeg(session, scope, camera.code, "day")


def reference_status(session: Session, camera_id: int) -> dict[str, str]:
    """Per kind (day, night) of the camera's references in force: approved or provisional."""
    from vp_monitor.registry.service import references_in_force

    found = references_in_force(session, [camera_id], images=False).get(camera_id, {})
    return {kind: "provisional" if r.provisional else "approved" for kind, r in found.items()}


@dataclass
class StatusWall:
    """Every active camera of the scope with its state, worst first, and counts by state."""

    cameras: list[dict[str, Any]] = field(default_factory=list)
    watched: int = 0  # active cameras in the scope, shown or not
    counts: list[dict[str, Any]] = field(default_factory=list)  # per municipality and site
    summary: dict[str, Any] = field(default_factory=dict)  # lists.status_summary


# What the wall shows: every watched state (decommissioned cameras are not watched), or only
# the cameras that are not ok.
WALL_STATES = list(STATE_ORDER)
PROBLEM_STATES = [state for state in STATE_ORDER if state != "ok"]
WALL_FIELDS = ("state", "conditions", "since", "last_check", "incident", "incident_status",
               "acknowledged_by")  # fmt: skip


def status_wall(session: Session, scope: Scope, problems_only: bool = False) -> StatusWall:
    """The status wall: state, conditions, incident status and who acknowledged it, worst
    first; with `problems_only`, cameras that are not ok. Counts from `status_summary`."""
    summary = status_summary(session, scope)
    filters = CameraFilters(state=PROBLEM_STATES if problems_only else WALL_STATES)
    wall = StatusWall(watched=summary["fleet"]["total"], summary=summary)
    for item in list_cameras(session, scope, filters)["items"]:
        wall.cameras.append({"camera": item["code"], "name": item["name"], "site": item["site"],
                             "site_id": item["site_id"], "municipality": item["municipality"],
                             **{name: item[name] for name in WALL_FIELDS}})  # fmt: skip
    wall.counts = [
        {"municipality": site["municipality"], "site": site["site"], "state": state,
         "count": count}
        for site in summary["sites"]
        for state, count in sorted(site["states"].items())
    ]  # fmt: skip
    wall.counts.sort(key=lambda c: (c["municipality"], c["site"], c["state"]))
    return wall


# -- incidents ---------------------------------------------------------------------------------
def incident_record(session: Session, incident: Incident) -> dict[str, Any]:
    """What an operator reads about an incident (the evidence frame only as its size)."""
    camera = session.get(Camera, incident.camera_id) if incident.camera_id else None
    site = session.get(Site, incident.site_id) if incident.site_id else None
    town = camera.municipality if camera else (site.municipality if site else None)
    return {
        "id": incident.id,
        "kind": incident.kind,
        "status": incident.status,
        "severity": incident.severity,
        "camera": camera.code if camera else None,
        "camera_name": camera.name if camera else None,
        "site": site.name if site else None,
        "municipality": town.name if town else None,
        "insee": town.insee if town else None,
        "conditions": list(incident.conditions or []),
        "opened_at": incident.opened_at,
        "acknowledged_at": incident.acknowledged_at,
        "acknowledged_by": incident.acknowledged_by,
        "acknowledgement_note": incident.acknowledgement_note,
        "resolved_at": incident.resolved_at,
        "reopened_count": incident.reopened_count,
        "escalation_level": incident.escalation_level,
        "silenced": incident.silenced,
        "parent_id": incident.parent_id,
        "metrics": incident.metrics or {},  # of the check that opened it (the evidence)
        "worst": incident.worst,  # its worst moment: at, state, severity, conditions, metrics
        "evidence_bytes": len(incident.evidence_jpeg or b""),
    }


def incidents(
    session: Session,
    scope: Scope,
    include_resolved: bool = False,
    limit: int = 200,
    **filters: Any,
) -> list[dict[str, Any]]:
    """The scope's incidents (unresolved ones unless `include_resolved`), newest first;
    `filters` are more IncidentFilters."""
    wanted = IncidentFilters(status=None if include_resolved else "unresolved", **filters)
    return incident_records(session, scope, wanted, limit=limit)[0]


def find_incident(session: Session, scope: Scope, incident_id: str) -> Incident:
    """An incident of the scope by its id or an unambiguous prefix of it (ids are long UUIDs);
    another tenant's incident is not found, as a missing one."""
    query = select(Incident).where(
        Incident.id.startswith(incident_id, autoescape=True), incidents_in(scope)
    )
    found = session.scalars(query.limit(2)).all()
    if len(found) != 1:
        key = "incident.ambiguous_id" if found else "incident.unknown_id"
        raise NotFound(key, id=incident_id)
    return found[0]


def incident_detail(session: Session, scope: Scope, incident_id: str) -> dict[str, Any]:
    """One incident: its camera and place, its metrics, the notifications sent, and its
    evidence frame (bytes, under "evidence_jpeg")."""
    found = find_incident(session, scope, incident_id)
    record = incident_record(session, found)
    record["notifications"] = notifications_sent(session, found.id)
    record |= resolution(session, found)
    record["evidence_jpeg"] = found.evidence_jpeg
    return record


def evidence_jpeg(session: Session, scope: Scope, incident_id: str) -> bytes:
    """The evidence frame of an incident of the scope, or NotFound (none kept, or not its)."""
    found = find_incident(session, scope, incident_id)
    if not found.evidence_jpeg:
        raise NotFound("incident.no_evidence")
    return found.evidence_jpeg


def resolution(session: Session, incident: Incident) -> dict[str, Any]:
    """Who resolved the incident by hand and their note, from the audit trail (both None when
    the monitor resolved it, or it is not resolved)."""
    from vp_monitor.registry.models import AuditEntry

    entry = None
    if incident.status == "resolved":
        query = select(AuditEntry).where(
            AuditEntry.entity == "incident", AuditEntry.entity_key == incident.id,
            AuditEntry.action == "resolve",
        )  # fmt: skip
        entry = session.scalars(query.order_by(AuditEntry.id.desc()).limit(1)).first()
    return {
        "resolved_by": entry.actor if entry else None,
        "resolution_note": (entry.after or {}).get("note") if entry else None,
    }


def notifications_sent(session: Session, incident_id: str) -> list[dict[str, Any]]:
    """The outbox events of one incident: to whom, through which channel, sent or not, when."""
    from vp_monitor.alerts.models import Delivery, OutboxEvent
    from vp_monitor.registry.models import Contact

    query = (
        select(OutboxEvent, Delivery, Contact)
        .join(Contact, OutboxEvent.contact_id == Contact.id)
        .outerjoin(Delivery, OutboxEvent.delivery_id == Delivery.id)
        .where(OutboxEvent.incident_id == incident_id)
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
    )
    rows = []
    for event, delivery, contact in session.execute(query):
        channel = str(getattr(contact.channel, "value", contact.channel))
        rows.append({
            "event": event.payload.get("event"),
            "channel": channel,
            "contact": contact.name,
            "recipient": masked_recipient(channel, contact.address),
            "status": delivery.status if delivery else "pending",
            "sent_at": delivery.sent_at if delivery else None,
            "queued_at": event.created_at,
        })  # fmt: skip
    return rows


# -- availability and reports ------------------------------------------------------------------
def availability_records(
    session: Session, scope: Scope, start: datetime, until: datetime, code: str | None = None
) -> list[dict[str, Any]]:
    """Share of time each camera of the scope (or only the one with this `code`) had usable
    video between `start` and `until`, maintenance excluded (monitor/availability.py does the
    sums)."""
    from vp_monitor.monitor.availability import availability

    if code is not None:
        one = find_camera(session, scope, code)  # another tenant's: NotFound
        cameras = {one.id: one}
        narrowed = select(Camera.id).where(Camera.id == one.id)
    else:
        query = select(Camera).options(*WITH_PLACES).where(scope.cameras())
        cameras = {camera.id: camera for camera in session.scalars(query)}
        # The whole fleet unfiltered: a literal list of every id outgrows SQLite's parameters.
        narrowed = None if scope.is_supervision else select(Camera.id).where(scope.cameras())
    found = availability(session, start, until, narrowed)
    records = []
    for camera_id, camera in sorted(cameras.items(), key=lambda item: item[1].code):
        figures = found.get(camera_id)
        ratio = figures.ratio if figures else None
        records.append({
            "camera": camera.code,
            "site": camera.site.name,
            "municipality": camera.municipality.insee,
            "availability_pct": None if ratio is None else round(ratio * 100, 2),
            "down_min": round(figures.down_s / 60, 1) if figures else 0.0,
            "degraded_min": round(figures.degraded_s / 60, 1) if figures else 0.0,
            "maintenance_min": round(figures.maintenance_s / 60, 1) if figures else 0.0,
            "from": start.astimezone(UTC).isoformat(),
            "to": until.astimezone(UTC).isoformat(),
        })  # fmt: skip
    return records


def daily_report(registry: Any, scope: Scope, day: date, settings: Any) -> dict[str, Any]:
    """The daily report of the scope (one municipality, a maintainer or the whole fleet), as
    its contacts get it; `settings` are the alert settings."""
    from vp_monitor.alerts.reports import build_report, day_period
    from vp_monitor.monitor.availability import RECORDED_FLEET
    from vp_monitor.registry.models import Maintainer

    if len(scope.municipalities) > 1:
        raise ValueError("a daily report is about one municipality")
    # An unknown municipality or company is an error, not an empty report.
    for insee in scope.municipalities:
        registry.municipality(insee)
    if (
        scope.maintainer is not None
        and registry.session.scalar(
            select(Maintainer.id).where(Maintainer.name == scope.maintainer)
        )
        is None
    ):
        raise NotFound("maintainer.unknown", name=scope.maintainer)
    period = day_period(day, settings.timezone)
    return build_report(registry.session, scope, period, settings, fleet=RECORDED_FLEET)


# -- maintenance -------------------------------------------------------------------------------
def maintenance_windows(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """The scope's maintenance windows with the camera code, site and municipality names."""
    return list_maintenance(session, scope)["items"]


def find_maintenance(session: Session, scope: Scope, window_id: int) -> Any:
    """The maintenance window with this id inside the scope, or NotFound (another tenant's
    too)."""
    from vp_monitor.registry.models import MaintenanceWindow

    query = select(MaintenanceWindow).where(
        MaintenanceWindow.id == window_id, scope.maintenance_windows()
    )
    found = session.scalar(query)
    if found is None:
        raise NotFound("maintenance.unknown", id=window_id)
    return found


def maintenance_detail(session: Session, scope: Scope, window_id: int) -> dict[str, Any]:
    """One maintenance window of the scope, with its camera, site and municipality names."""
    from vp_monitor.service.lists import maintenance_item

    return maintenance_item(session, find_maintenance(session, scope, window_id))
