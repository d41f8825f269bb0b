"""Daily reports: each contact that takes reports gets, every morning, the previous day of its
own cameras — availability, incidents opened, resolved and still open, worst cameras.

A municipality's contact sees its municipality's cameras only, a maintainer's the cameras it
maintains, the supervision centre the whole fleet. A report is written to the outbox as a
delivery whose idempotency key names the contact and the day: however many nodes run the job,
and however often it runs, each contact gets one report per day, retried like any message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from vp_monitor.alerts.models import Delivery, Incident
from vp_monitor.alerts.notification import iso_utc
from vp_monitor.alerts.settings import SEVERITY_RANK, AlertSettings
from vp_monitor.db import insert_ignoring_duplicates, observed_until
from vp_monitor.registry.models import SCHEDULED_LIFECYCLES, Camera, Contact, Municipality, Site
from vp_monitor.registry.scope import Scope


class FleetRecord(Protocol):
    """What a report reads of the fleet's recorded state and history. The monitor, which
    records them, provides it (`monitor.availability.RECORDED_FLEET`) to whoever builds reports,
    so alerting never reads the monitor's tables itself (data flows one way)."""

    def states(self, session: Session, camera_ids: Select) -> Counter[str]:
        """How many of these cameras are in each state (a camera never checked is not counted)."""
        ...

    def availability(
        self, session: Session, start: datetime, end: datetime, camera_ids: Select
    ) -> Mapping[int, Any]:
        """Each camera's availability figures over the period: up_s, down_s, degraded_s,
        maintenance_s and ratio, by camera id."""
        ...


@dataclass(frozen=True)
class Period:
    """One local day, as UTC bounds."""

    day: date
    start: datetime
    end: datetime
    timezone: str


def day_period(day: date, timezone: str) -> Period:
    """The local day `day` in `timezone` (23 or 25 hours long on clock-change days)."""
    zone = ZoneInfo(timezone)
    # In UTC: Python subtracts two times of one zone as wall-clock times, DST ignored.
    start = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    return Period(day, start, end, timezone)


def due_day(now: datetime, settings: AlertSettings) -> date | None:
    """The day whose report is due at `now`: yesterday once today's report time has passed."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    if local.time().replace(tzinfo=None) < settings.report_time:
        return None
    return local.date() - timedelta(days=1)


def report_key(contact_id: int, day: date) -> str:
    """The idempotency key of a contact's report for a day (the delivery's unique key)."""
    return f"report-{contact_id}-{day.isoformat()}"


def create_due_reports(
    session: Session, settings: AlertSettings, now: datetime, *, fleet: FleetRecord
) -> int:
    """Write the due day's report of every contact that takes reports and has none yet."""
    day = due_day(now, settings)
    if day is None:
        return 0
    contacts = list(session.scalars(select(Contact).where(Contact.reports.is_(True))))
    keys = {contact.id: report_key(contact.id, day) for contact in contacts}
    made = set(
        session.scalars(select(Delivery.idempotency_key).where(
            Delivery.idempotency_key.in_(list(keys.values()))
        ))
    )  # fmt: skip
    period = day_period(day, settings.timezone)
    created = 0
    built: dict[Scope, dict[str, Any]] = {}  # contacts of one town share one computation
    for contact in contacts:
        if keys[contact.id] in made:
            continue
        scope = Scope.of_contact(contact)
        if scope not in built:
            built[scope] = build_report(session, scope, period, settings, now, fleet=fleet)
        content = built[scope]
        # Another node may be writing the same report: the unique key keeps one.
        inserted = session.execute(
            insert_ignoring_duplicates(session, Delivery)
            .values(
                contact_id=contact.id, idempotency_key=keys[contact.id], kind="report",
                payload=content, status="pending", created_at=now, next_attempt_at=now,
                attempts=0,
            )
            .returning(Delivery.id)  # rowcount is not reliable for this statement everywhere
        ).all()  # fmt: skip
        created += len(inserted)
    return created


def watched_cameras(scope: Scope) -> ColumnElement[bool]:
    """The SQL condition on `Camera` rows a report is about: the scope's watched cameras."""
    return and_(Camera.lifecycle.in_(SCHEDULED_LIFECYCLES), scope.cameras())


def audience(session: Session, scope: Scope) -> dict[str, str]:
    """Whom the report is about, as its heading names it: a municipality, a maintainer or all."""
    if scope.municipalities:
        names = session.scalars(select(Municipality.name).where(
            Municipality.insee.in_(sorted(scope.municipalities))
        ).order_by(Municipality.name))  # fmt: skip
        return {"kind": "municipality", "name": ", ".join(names)}
    if scope.maintainer is not None:
        return {"kind": "maintainer", "name": scope.maintainer}
    return {"kind": "all", "name": ""}


def scope_cameras(session: Session, scope: Scope) -> list[Camera]:
    """The watched cameras of the scope."""
    query = select(Camera).options(selectinload(Camera.site)).where(watched_cameras(scope))
    return list(session.scalars(query.order_by(Camera.code)))


def scope_incidents(session: Session, scope: Scope, period: Period) -> list[Incident]:
    """Incidents told on their own (not held under a site outage, not silenced by maintenance)
    about the contact's cameras or their sites, that were open at some time in the period."""
    camera_ids = select(Camera.id).where(watched_cameras(scope))
    site_ids = select(Camera.site_id).where(watched_cameras(scope))
    about = [
        and_(Incident.kind.in_(("camera", "flapping")), Incident.camera_id.in_(camera_ids)),
        and_(Incident.kind == "site", Incident.site_id.in_(site_ids)),
    ]
    if scope.is_supervision:
        about.append(Incident.kind == "monitor")
    query = (
        select(Incident)
        .where(
            or_(*about),
            Incident.parent_id.is_(None),
            Incident.silenced.is_(False),
            Incident.opened_at < period.end,
            or_(Incident.resolved_at.is_(None), Incident.resolved_at >= period.start),
        )
        .order_by(Incident.opened_at, Incident.id)
    )
    return list(session.scalars(query))


def build_report(
    session: Session,
    scope: Scope,
    period: Period,
    settings: AlertSettings,
    now: datetime | None = None,
    *,
    fleet: FleetRecord,
) -> dict[str, Any]:
    """The report's content: plain JSON values, as sent to webhooks and rendered in e-mails.

    A day not over yet (today's) is measured until `now` (`period.measured_until` says so).
    """
    cameras = scope_cameras(session, scope)
    by_id = {camera.id: camera for camera in cameras}
    # A subquery: a whole fleet is too many ids for a literal list.
    camera_ids = select(Camera.id).where(watched_cameras(scope))
    states = fleet.states(session, camera_ids)
    states["unknown"] += len(cameras) - sum(states.values())  # never checked yet
    until = observed_until(period.end, now)
    figures = fleet.availability(session, period.start, until, camera_ids)
    up = sum(f.up_s for f in figures.values())
    down = sum(f.down_s for f in figures.values())
    lowest = sorted(
        (f for f in figures.values() if f.ratio is not None and f.down_s > 0),
        key=lambda f: (f.ratio, by_id[f.camera_id].code),
    )
    incidents = scope_incidents(session, scope, period)
    opened = [i for i in incidents if i.opened_at >= period.start]
    resolved = [i for i in incidents if i.resolved_at is not None and i.resolved_at < period.end]
    still_open = [i for i in incidents if i.status != "resolved"]
    conditions = Counter(c for incident in opened for c in incident.conditions or [])
    rows = settings.report_rows
    worst_first = sorted(
        incidents, key=lambda i: (-SEVERITY_RANK.get(i.severity, 1), i.opened_at, i.id)
    )
    return {
        "period": {"day": period.day.isoformat(), "start": iso_utc(period.start),
                   "end": iso_utc(period.end), "timezone": period.timezone,
                   "measured_until": iso_utc(max(until, period.start))},
        "scope": audience(session, scope),
        "cameras": {"total": len(cameras), "states": dict(sorted(states.items()))},
        "availability": {
            "ratio": round(up / (up + down), 6) if up + down else None,
            "down_s": round(down, 1),
            "degraded_s": round(sum(f.degraded_s for f in figures.values()), 1),
            "maintenance_s": round(sum(f.maintenance_s for f in figures.values()), 1),
            "lowest": [_camera_row(by_id[f.camera_id], f) for f in lowest[:rows]],
        },
        "incidents": {
            "opened": len(opened),
            "resolved": len(resolved),
            "still_open": len(still_open),
            "by_condition": dict(conditions.most_common()),
            "items": [_incident_row(session, incident, by_id) for incident in worst_first[:rows]],
            "more": max(0, len(incidents) - rows),
        },
    }  # fmt: skip


def _camera_row(camera: Camera, figures: Any) -> dict[str, Any]:
    return {
        "code": camera.code,
        "name": camera.name,
        "site": camera.site.name,
        "ratio": round(figures.ratio, 6),
        "down_s": round(figures.down_s, 1),
        "degraded_s": round(figures.degraded_s, 1),
    }


def _incident_row(session: Session, incident: Incident, cameras: dict[int, Camera]) -> dict:
    camera = cameras.get(incident.camera_id) if incident.camera_id else None
    site = camera.site if camera else (session.get(Site, incident.site_id) if incident.site_id
                                       else None)  # fmt: skip
    duration = None
    if incident.resolved_at is not None:
        duration = round((incident.resolved_at - incident.opened_at).total_seconds(), 1)
    return {
        "incident_id": incident.id,
        "kind": incident.kind,
        "status": incident.status,
        "severity": incident.severity,
        "conditions": list(incident.conditions or []),
        "camera": camera.code if camera else None,
        "camera_name": camera.name if camera else None,
        "site": site.name if site else None,
        "opened_at": iso_utc(incident.opened_at),
        "resolved_at": iso_utc(incident.resolved_at) if incident.resolved_at else None,
        "duration_s": duration,
        "acknowledged_by": incident.acknowledged_by,
    }
