"""Inhibition: one site outage instead of its cameras', one monitor outage instead of its sites'.

Camera incidents held under a site incident (and site incidents under a monitor incident) have
`parent_id` set and are not told on their own, as Alertmanager's inhibition. Their opening
events wait in the outbox for the correlation window (see outbox.py), so the parent can still
take them back (`routing.retract`) before anybody hears of them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from vp_monitor.alerts import routing
from vp_monitor.alerts.models import Incident
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.events.record import INCIDENT_OPENED, INCIDENT_RESOLVED
from vp_monitor.monitor.events import CameraChange
from vp_monitor.registry.models import Camera, Lifecycle, Site

UNRESOLVED = ("open", "acknowledged")


def on_camera_problem(
    session: Session,
    incident: Incident,
    camera: Camera,
    change: CameraChange,
    settings: AlertSettings,
) -> None:
    """A camera is down: hold its incident under an open parent, or open the site's outage."""
    if change.state != "down" or incident.parent_id is not None:
        return
    sites = _group_site_ids(session, camera.site)
    _lock_sites(session, sites)
    parent = _open_site_incident(session, sites) or open_monitor_incident(session)
    if parent is not None:
        if not routing.was_told_lately(session, incident):
            _hold(session, [incident], parent)
        return
    _maybe_open_site_incident(session, camera, change, sites, settings)


def on_camera_up(session: Session, camera: Camera, at: datetime, settings: AlertSettings) -> None:
    """A camera of a site in outage answered: the outage may be over."""
    site = _open_site_incident(session, _group_site_ids(session, camera.site))
    if site is not None:
        check_parent(session, site.id, at, settings, recovered=True)


def check_parent(
    session: Session,
    parent_id: str | None,
    at: datetime,
    settings: AlertSettings,
    *,
    recovered: bool = False,
) -> None:
    """Resolve a site/monitor incident once its held incidents are over (then its parent).

    `recovered` says a camera of the site answered: the only sign of the end of an outage
    that holds no incident (its cameras' incidents had all been told before it opened).
    """
    parent = session.get(Incident, parent_id) if parent_id else None
    if parent is None or parent.status == "resolved":
        return
    children = _children(session, parent.id)
    if not children and not recovered:
        return
    open_children = [child for child in children if child.status != "resolved"]
    back = [child.resolved_at for child in children if child.resolved_at]
    # A site incident that came back within the grace (reopened), or holds flapping cameras, is
    # flapping: it waits for its cameras to stay back for the grace (a new outage in that time
    # would reopen it anyway), and its flapping cameras are not stragglers to tell one by one.
    flapping = parent.kind == "site" and (
        parent.reopened_count > 0 or any(child.kind == "flapping" for child in open_children)
    )
    if flapping:
        parent.conditions = sorted({*parent.conditions, "flapping"})
        quiet, last_back = timedelta(seconds=settings.reopen_grace_s), max(back, default=None)
        if last_back is None or at - last_back < quiet:
            return
    if open_children:
        # Still down well after the others came back: that one has a problem of its own. Not
        # while most are down, nor within the window after the latest came back: a flapping
        # uplink fails again before its slowest cameras saw it back (issue 15).
        if 2 * len(open_children) > len(children):
            return
        window = timedelta(seconds=settings.correlation_window_s)
        if not back or at - max(back) < window:
            return
    parent.status = "resolved"
    parent.resolved_at = at
    session.flush()
    routing.announce(session, parent, INCIDENT_RESOLVED, at, "resolved")
    routing.tell(session, parent, "resolved", settings, at)
    for child in open_children:
        child.parent_id = None
        session.flush()
        routing.tell(session, child, "opened", settings, at)
    check_parent(session, parent.parent_id, at, settings, recovered=recovered)


def sites_in_outage(session: Session) -> set[int]:
    """Ids of the sites whose group (the site, or every site on its uplink) has an unresolved
    site incident: the sites whose cameras' checks `on_camera_up` has something to look at."""
    outages = select(Incident.site_id).where(
        Incident.kind == "site", Incident.status.in_(UNRESOLVED)
    )
    uplinks = select(Site.uplink).where(
        Site.id.in_(outages), Site.uplink.is_not(None), Site.uplink != ""
    )
    in_group = or_(Site.id.in_(outages), Site.uplink.in_(uplinks))
    return set(session.scalars(select(Site.id).where(in_group)))


def open_monitor_incident(session: Session) -> Incident | None:
    """The unresolved `monitor` incident, if the monitor is believed cut off."""
    query = select(Incident).where(Incident.kind == "monitor", Incident.status.in_(UNRESOLVED))
    return session.scalars(query.limit(1)).first()


def _maybe_open_site_incident(
    session: Session,
    camera: Camera,
    change: CameraChange,
    sites: list[int],
    settings: AlertSettings,
) -> None:
    cameras = routing.group_cameras(session, camera.site)
    if len(cameras) < settings.site_min_cameras:
        return
    down_since = _down_since(session, cameras, change)
    window = timedelta(seconds=settings.correlation_window_s)
    recent = [moment for moment in down_since if change.at - moment <= window]
    # "At once": more than half of them down within the window (one camera broken for days
    # must not prevent the site outage, nor two cameras failing a week apart make one). Not
    # every one: an uplink down for less than a check interval and its retry (a flapping one)
    # never has them all confirmed down together (issue 15).
    if 2 * len(recent) <= len(cameras):
        return
    held = _unresolved_camera_incidents(session, [c.id for c in cameras])
    silenced = bool(held) and all(incident.silenced for incident in held)
    site = _recent_site_incident(session, sites, change.at, settings)
    event = "opened" if site is None else "reopened"
    if site is not None:  # back within the grace: the same outage again, as for a camera
        site.status, site.resolved_at, site.parent_id = "open", None, None
        site.acknowledged_at = site.acknowledged_by = site.acknowledgement_note = None
        site.reopened_count += 1
        site.conditions = sorted({*site.conditions, "flapping"})  # down, back, down again
        site.last_reminder_at, site.silenced = change.at, silenced
    else:
        site = Incident(
            id=str(uuid.uuid4()),
            kind="site",
            site_id=camera.site_id,
            status="open",
            conditions=["site_down"],
            severity=settings.severity_of(["site_down"]),
            metrics={"cameras": float(len(cameras))},
            opened_at=min(recent),
            silenced=silenced,
            reopened_count=0,
            escalation_level=0,
        )
        session.add(site)
    session.flush()
    _hold(session, [i for i in held if not routing.was_told_lately(session, i)], site)
    monitor = open_monitor_incident(session)
    if monitor is not None:
        _hold(session, [site], monitor)
    routing.announce(session, site, INCIDENT_OPENED, change.at, event)
    routing.tell(session, site, event, settings, change.at)
    _maybe_open_monitor_incident(session, change.at, settings)


def _maybe_open_monitor_incident(session: Session, at: datetime, settings: AlertSettings) -> None:
    if open_monitor_incident(session) is not None:
        return
    groups = _monitored_groups(session)
    if len(groups) < settings.isolation_min_sites:
        return
    down = _groups_in_outage(session)
    if len(down & groups) < settings.isolation_fraction * len(groups):
        return
    monitor = Incident(
        id=str(uuid.uuid4()),
        kind="monitor",
        status="open",
        conditions=["monitor_isolated"],
        severity=settings.severity_of(["monitor_isolated"]),
        metrics={"sites_down": float(len(down)), "sites": float(len(groups))},
        opened_at=at,
        silenced=False,
        reopened_count=0,
        escalation_level=0,
    )
    session.add(monitor)
    session.flush()
    query = select(Incident).where(
        Incident.kind.in_(("camera", "flapping", "site")),
        Incident.status.in_(UNRESOLVED),
        Incident.parent_id.is_(None),
    )
    orphans = [i for i in session.scalars(query) if not routing.was_told_lately(session, i)]
    _hold(session, orphans, monitor)
    routing.announce(session, monitor, INCIDENT_OPENED, at, "opened")
    routing.tell(session, monitor, "opened", settings, at)


def _hold(session: Session, incidents: list[Incident], parent: Incident) -> None:
    """Put incidents under `parent` and take back what they had not told yet."""
    for incident in incidents:
        incident.parent_id = parent.id
    routing.retract(session, [incident.id for incident in incidents])
    session.flush()


def _down_since(session: Session, cameras: list[Camera], change: CameraChange) -> list[datetime]:
    """When each camera of the group that is down went down (this change's camera among them).

    A camera that is down has an unresolved incident, which holds the state the evaluator last
    told and since when (`Incident.camera_state`): the monitor's status rows are not read.
    """
    ids = [camera.id for camera in cameras]
    query = select(Incident).where(
        Incident.camera_id.in_(ids),
        Incident.kind.in_(("camera", "flapping")),
        Incident.status.in_(UNRESOLVED),
    )
    told = {incident.camera_id: incident for incident in session.scalars(query)}
    moments = []
    for camera_id in ids:
        incident = told.get(camera_id)
        if camera_id == change.camera_id:
            # This change is being recorded: its incident may not hold it yet.
            down_before = change.previous_state == "down" and incident is not None
            since = incident.camera_state_since if down_before else None
            moments.append(since or change.at)
        elif incident is not None and incident.camera_state == "down":
            moments.append(incident.camera_state_since or change.at)
    return moments


def _group_site_ids(session: Session, site: Site) -> list[int]:
    """Ids of the sites sharing `site`'s uplink (just `site` when it has none)."""
    if not site.uplink:
        return [site.id]
    return list(session.scalars(select(Site.id).where(Site.uplink == site.uplink)))


def _lock_sites(session: Session, site_ids: list[int]) -> None:
    # Two nodes checking two cameras of one site at once must not both open (or both miss)
    # its outage; the row lock serialises them on PostgreSQL (SQLite has one writer anyway).
    # In id order, as every writer does: two writers locking one group cannot deadlock.
    query = select(Site.id).where(Site.id.in_(site_ids)).order_by(Site.id).with_for_update()
    session.execute(query).all()


def _open_site_incident(session: Session, site_ids: list[int]) -> Incident | None:
    query = select(Incident).where(
        Incident.kind == "site", Incident.status.in_(UNRESOLVED), Incident.site_id.in_(site_ids)
    )
    return session.scalars(query.limit(1)).first()


def _recent_site_incident(
    session: Session, site_ids: list[int], at: datetime, settings: AlertSettings
) -> Incident | None:
    """The group's site incident resolved within `reopen_grace_s` before `at`, if any."""
    query = select(Incident).where(
        Incident.kind == "site",
        Incident.status == "resolved",
        Incident.site_id.in_(site_ids),
        Incident.resolved_at >= at - timedelta(seconds=settings.reopen_grace_s),
    )
    return session.scalars(query.order_by(Incident.resolved_at.desc()).limit(1)).first()


def _children(session: Session, parent_id: str) -> list[Incident]:
    return list(session.scalars(select(Incident).where(Incident.parent_id == parent_id)))


def _unresolved_camera_incidents(session: Session, camera_ids: list[int]) -> list[Incident]:
    query = select(Incident).where(
        Incident.camera_id.in_(camera_ids),
        Incident.kind.in_(("camera", "flapping")),
        Incident.status.in_(UNRESOLVED),
        Incident.parent_id.is_(None),
    )
    return list(session.scalars(query))


def _group_key(site_id: int, uplink: str | None) -> str:
    return f"uplink:{uplink}" if uplink else f"site:{site_id}"


def _monitored_groups(session: Session) -> set[str]:
    """Uplinks (or sites without one) that have at least one active camera."""
    query = (
        select(Site.id, Site.uplink)
        .join(Camera, Camera.site_id == Site.id)
        .where(Camera.lifecycle == Lifecycle.ACTIVE)
        .group_by(Site.id, Site.uplink)
        .having(func.count(Camera.id) > 0)
    )
    return {_group_key(site_id, uplink) for site_id, uplink in session.execute(query)}


def _groups_in_outage(session: Session) -> set[str]:
    query = (
        select(Site.id, Site.uplink)
        .join(Incident, Incident.site_id == Site.id)
        .where(Incident.kind == "site", Incident.status.in_(UNRESOLVED))
    )
    return {_group_key(site_id, uplink) for site_id, uplink in session.execute(query)}
