"""Periodic: escalate unacknowledged incidents to the next level, remind about open ones."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vp_monitor.alerts import correlation, routing
from vp_monitor.alerts.models import Incident
from vp_monitor.alerts.settings import SEVERITY_RANK, AlertSettings
from vp_monitor.registry.models import Contact


def escalate_once(
    session: Session, settings: AlertSettings, now: datetime, limit: int = 500
) -> int:
    """Escalate or remind the open, unacknowledged incidents that are due; returns how many."""
    query = (
        select(Incident)
        .where(
            Incident.status == "open",
            Incident.silenced.is_(False),
            Incident.parent_id.is_(None),
        )
        .order_by(Incident.opened_at)
        .limit(limit)
    )
    done = 0
    for incident in session.scalars(query).all():
        if _escalate(session, incident, settings, now) or _remind(session, incident, settings, now):
            done += 1
    _settle_parents(session, settings, now)
    return done


def _escalate(session: Session, incident: Incident, settings: AlertSettings, now: datetime) -> bool:
    """Tell the next level once the incident has gone unacknowledged for escalate_after_s."""
    if now - _last_told(incident) < timedelta(seconds=settings.escalate_after_s):
        return False
    level = incident.escalation_level + 1
    contacts = _contacts_at(session, incident, level)
    if not contacts:
        return False  # nobody above: reminders take over
    incident.escalation_level = level
    incident.last_reminder_at = now
    session.flush()
    routing.tell(session, incident, "escalated", settings, now, contacts=contacts)
    return True


def _remind(session: Session, incident: Incident, settings: AlertSettings, now: datetime) -> bool:
    """Remind everyone concerned at the configured interval."""
    if now - _last_told(incident) < timedelta(seconds=settings.reminder_interval_s):
        return False
    incident.last_reminder_at = now
    session.flush()
    routing.tell(session, incident, "reminder", settings, now)
    return True


def _contacts_at(session: Session, incident: Incident, level: int) -> list[Contact]:
    rank = SEVERITY_RANK[incident.severity]
    return [
        contact
        for contact in routing.owners(session, incident)
        if contact.level == level and SEVERITY_RANK[str(contact.min_severity)] <= rank
    ]


def _last_told(incident: Incident) -> datetime:
    return incident.last_reminder_at or incident.opened_at


def _settle_parents(session: Session, settings: AlertSettings, now: datetime) -> None:
    # A site outage whose last held camera stays down is closed here when no check triggers it.
    query = select(Incident.id).where(
        Incident.kind.in_(("site", "monitor")), Incident.status != "resolved"
    )
    for incident_id in session.scalars(query).all():
        correlation.check_parent(session, incident_id, now, settings)
