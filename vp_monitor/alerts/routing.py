"""Who is told about an incident event: writes one outbox row per recipient, same transaction.

Municipalities hear about their cameras, maintainers about the cameras they maintain, the
supervision centre (contacts with neither) about everything; each contact has a minimum
severity and an escalation level. Quiet hours are applied later, when events are grouped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from vp_monitor import conditions
from vp_monitor.alerts import labels
from vp_monitor.alerts.models import Incident, OutboxEvent
from vp_monitor.alerts.notification import IncidentEvent
from vp_monitor.alerts.settings import SEVERITY_RANK, AlertSettings
from vp_monitor.events.record import record_event
from vp_monitor.registry.models import Camera, Contact, Lifecycle, Site

# Events that start telling someone; the others go to whoever was told already, too.
OPENING_EVENTS = frozenset({"opened", "reopened"})
NETWORK_CONDITIONS = conditions.names(network=True)  # what a site outage may explain


def tell(
    session: Session,
    incident: Incident,
    event: str,
    settings: AlertSettings,
    now: datetime,
    *,
    camera_state: str | None = None,
    contacts: list[Contact] | None = None,
) -> int:
    """Write `event` of `incident` to the outbox of each recipient; returns how many."""
    if incident.silenced or incident.parent_id is not None:
        return 0  # maintenance silence, or inhibited under a site/monitor incident
    if contacts is None:
        contacts = recipients(session, incident, event)
    if event == "reminder":  # a digest lists what is still open: it is its own reminder
        contacts = [contact for contact in contacts if not contact.digest]
    state = camera_state or _camera_state(session, incident)
    for contact in contacts:
        payload = build_event(session, incident, event, state, contact.language, settings)
        session.add(
            OutboxEvent(
                contact_id=contact.id,
                incident_id=incident.id,
                payload=payload.to_dict(),
                created_at=now,
            )
        )
    session.flush()
    return len(contacts)


def announce(session: Session, incident: Incident, kind: str, at: datetime, event: str) -> None:
    """Write the live change event of an incident opened (`event`: opened or reopened),
    acknowledged or resolved, silenced or held ones too: the wall shows what alerting hides."""
    record_event(
        session, kind, at=at, camera_id=incident.camera_id, site_id=incident.site_id,
        incident=incident.id, incident_kind=incident.kind, event=event, status=incident.status,
        severity=incident.severity, conditions=list(incident.conditions or []),
        camera_state=incident.camera_state, silenced=bool(incident.silenced),
        parent=incident.parent_id,
    )  # fmt: skip


def recipients(session: Session, incident: Incident, event: str) -> list[Contact]:
    """Contacts owed `event`: owners within the incident's level and severity, plus anyone told."""
    rank = SEVERITY_RANK[incident.severity]
    chosen = {
        contact.id: contact
        for contact in owners(session, incident)
        if contact.level <= incident.escalation_level
        and SEVERITY_RANK[str(contact.min_severity)] <= rank
    }
    if event not in OPENING_EVENTS:
        # Whoever heard about the start hears about the end, even if the severity dropped.
        for contact in told_contacts(session, incident.id):
            chosen.setdefault(contact.id, contact)
    return sorted(chosen.values(), key=lambda contact: contact.id)


def owners(session: Session, incident: Incident) -> list[Contact]:
    """Every contact concerned by the incident's cameras, whatever its level or severity."""
    supervision = (Contact.municipality_id.is_(None)) & (Contact.maintainer_id.is_(None))
    municipalities, maintainers = _owner_ids(session, incident)
    clauses = [supervision]
    if municipalities:
        clauses.append(Contact.municipality_id.in_(municipalities))
    if maintainers:
        clauses.append(Contact.maintainer_id.in_(maintainers))
    return list(session.scalars(select(Contact).where(or_(*clauses)).order_by(Contact.id)))


def told_contacts(session: Session, incident_id: str) -> list[Contact]:
    """Contacts that have an outbox event about this incident."""
    told = select(OutboxEvent.contact_id).where(OutboxEvent.incident_id == incident_id)
    return list(session.scalars(select(Contact).where(Contact.id.in_(told))))


def was_told(session: Session, incident_id: str, since: datetime | None = None) -> bool:
    """Whether a message about this incident (written `since` then, if given) has left the
    outbox's waiting room (grouped)."""
    query = select(OutboxEvent.id).where(
        OutboxEvent.incident_id == incident_id, OutboxEvent.delivery_id.is_not(None)
    )
    if since is not None:
        query = query.where(OutboxEvent.created_at >= since)
    return session.scalars(query.limit(1)).first() is not None


def told_since(incident: Incident) -> datetime:
    """When what receivers know of the incident began: its opening, or its latest reopening
    (last_reminder_at is set then, and by each reminder)."""
    return max(incident.opened_at, incident.last_reminder_at or incident.opened_at)


def was_told_lately(session: Session, incident: Incident) -> bool:
    """Whether its latest (re)opening, or a later event, has been told: an incident told before
    it recovered and then reopened is as new as one never told (a flapping camera's)."""
    return was_told(session, incident.id, told_since(incident))


def take_back_held_opening(
    session: Session, incident: Incident, at: datetime, settings: AlertSettings
) -> bool:
    """Drop the incident's waiting events if its latest opening, not told, is still held for
    the correlation window at `at` (an unreachable camera's, see outbox.is_held); whether it
    was. An outage over before its opening could be told is recorded, not told (issue 15: a
    flapping uplink's cameras would else each tell a short outage)."""
    if was_told_lately(session, incident):
        return False
    query = select(OutboxEvent.payload).where(
        OutboxEvent.incident_id == incident.id,
        OutboxEvent.delivery_id.is_(None),
        OutboxEvent.created_at > at - timedelta(seconds=settings.correlation_window_s),
    )
    held = any(
        payload["event"] in OPENING_EVENTS and NETWORK_CONDITIONS & set(payload["conditions"])
        for payload in session.scalars(query)
    )
    if held:
        retract(session, [incident.id])
    return held


def retract(session: Session, incident_ids: list[str]) -> None:
    """Drop events not yet grouped into a message (the incident is now inhibited)."""
    if incident_ids:
        session.execute(
            delete(OutboxEvent).where(
                OutboxEvent.incident_id.in_(incident_ids), OutboxEvent.delivery_id.is_(None)
            )
        )


def group_cameras(session: Session, site: Site) -> list[Camera]:
    """Active cameras behind the same uplink as `site` (or on `site` when it has none)."""
    query = select(Camera).join(Site).where(Camera.lifecycle == Lifecycle.ACTIVE)
    if site.uplink:
        query = query.where(Site.uplink == site.uplink)
    else:
        query = query.where(Camera.site_id == site.id)
    return list(session.scalars(query.order_by(Camera.id)))


def build_event(
    session: Session,
    incident: Incident,
    event: str,
    camera_state: str,
    language: str,
    settings: AlertSettings,
) -> IncidentEvent:
    """The event as told to one recipient (summary in the recipient's language)."""
    camera = session.get(Camera, incident.camera_id) if incident.camera_id else None
    site = session.get(Site, incident.site_id) if incident.site_id else None
    if camera is not None:
        site = camera.site
    duration = None
    if incident.resolved_at is not None:
        duration = (incident.resolved_at - incident.opened_at).total_seconds()
    evidence = None
    if incident.evidence_jpeg and settings.evidence_url:
        evidence = settings.evidence_url.replace("{incident_id}", incident.id)
    return IncidentEvent(
        incident_id=incident.id,
        event=event,  # type: ignore[arg-type]
        severity=incident.severity,  # type: ignore[arg-type]
        conditions=tuple(incident.conditions),
        camera_code=_subject_code(incident, camera, site),
        camera_name=camera.name if camera else (site.name if site else ""),
        site_name=site.name if site else "",
        municipality_name=site.municipality.name if site else "",
        camera_state=camera_state,  # type: ignore[arg-type]
        started_at=incident.opened_at,
        resolved_at=incident.resolved_at,
        duration_s=duration,
        summary=_summary(session, incident, site, language),
        metrics={k: float(v) for k, v in (incident.metrics or {}).items()},
        evidence_url=evidence,
    )


def _subject_code(incident: Incident, camera: Camera | None, site: Site | None) -> str:
    # IncidentEvent names one camera; a site outage is named by its uplink (or site), the
    # monitor's own by the program's name, so that e-mail titles and MQTT topics stay readable.
    if camera is not None:
        return camera.code
    if incident.kind == "site" and site is not None:
        return site.uplink or site.name
    return "vp-monitor"


def _summary(session: Session, incident: Incident, site: Site | None, language: str) -> str:
    """One line: the conditions in words, and for a site outage how many cameras it holds."""
    lang = "en" if language == "en" else "fr"
    text = ", ".join(labels.condition_label(name, lang) for name in incident.conditions)
    if incident.kind == "site" and site is not None:
        count = len(group_cameras(session, site))
        where = f"liaison {site.uplink}" if lang == "fr" else f"uplink {site.uplink}"
        cameras = f"{count} caméras" if lang == "fr" else f"{count} cameras"
        text = f"{text}: {site.name}, {cameras}" + (f" ({where})" if site.uplink else "")
    return text


def _owner_ids(session: Session, incident: Incident) -> tuple[set[int], set[int]]:
    """Municipality and maintainer ids of the incident's camera, or of its site's cameras."""
    if incident.kind == "monitor":
        return set(), set()  # the monitor's own trouble is the supervision centre's
    if incident.camera_id is not None:
        cameras = [session.get(Camera, incident.camera_id)]
    elif incident.site_id is not None:
        cameras = group_cameras(session, session.get(Site, incident.site_id))
    else:
        cameras = []
    municipalities = {c.municipality_id for c in cameras if c is not None}
    maintainers = {c.maintainer_id for c in cameras if c is not None and c.maintainer_id}
    return municipalities, maintainers


def _camera_state(session: Session, incident: Incident) -> str:
    if incident.status == "resolved":
        return "ok"
    if incident.kind in ("site", "monitor"):
        return "down"
    return incident.camera_state or "unknown"  # as the evaluator last told it
