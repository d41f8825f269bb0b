"""Operators' commands: the status wall in a terminal, incidents listed, shown, acknowledged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from vp_monitor.alerts.models import Incident
from vp_monitor.cli_context import (
    Context,
    json_option,
    pass_context,
    print_json,
    print_records,
    table_console,
)
from vp_monitor.registry.models import Camera, Lifecycle, Municipality, Site
from vp_monitor.texts import Texts

LIST_COLUMNS = ("id", "kind", "status", "severity", "camera", "site", "conditions", "opened_at",
                "acknowledged_by")  # fmt: skip
STATUS_COLUMNS = ("camera", "site", "municipality", "state", "conditions", "since", "last_check",
                  "incident_status", "acknowledged_by")  # fmt: skip
SHORT_ID = 8  # characters of an incident id shown in tables (random UUIDs: unique in practice)
NOTIFICATION_COLUMNS = ("event", "channel", "recipient", "status", "sent_at")


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


def masked_recipient(channel: str, address: str) -> str:
    """A recipient as an operator may see it: e-mail local part and URL credentials hidden."""
    from vp_monitor.redaction import redact_url

    if channel == "email":
        local, at, domain = address.partition("@")
        return f"{local[:1]}***{at}{domain}" if at else "***"
    if channel == "webhook":
        return redact_url(address)
    return address  # an MQTT topic prefix holds no secret


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


def print_incident(record: dict[str, Any], texts: Texts) -> None:
    """An incident for people: its facts, its metrics as a table, the notifications sent."""
    click.echo(texts("incident.title", id=record["id"]))
    facts = ("status", "severity", "kind", "camera", "site", "municipality", "conditions",
             "opened_at", "acknowledged_at", "acknowledged_by", "acknowledgement_note",
             "resolved_at", "reopened_count", "escalation_level", "silenced",
             "parent_id")  # fmt: skip
    lines = []
    for key in facts:
        value = record[key]
        if key == "camera" and value and record["camera_name"]:
            value = f"{value} « {record['camera_name']} »"
        elif key == "municipality" and value:
            value = f"{value} ({record['insee']})"
        elif key in ("acknowledged_at", "acknowledged_by", "acknowledgement_note",
                     "resolved_at", "parent_id") and not value:  # fmt: skip
            continue
        else:
            value = texts.value(key, value)
        lines.append((texts.header(key), value))
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        click.echo(f"  {key.ljust(width)}  {value}")
    sections = [("incident.opening_metrics", record["metrics"])]  # the evidence, kept
    worst = record.get("worst") or {}
    if worst.get("metrics") and worst["metrics"] != record["metrics"]:
        sections.append(("incident.worst_metrics", worst["metrics"]))
    console = table_console()
    for title, metrics in sections:
        click.echo("")
        click.echo(texts(title))
        if not metrics:
            click.echo(f"  {texts('incident.no_metrics')}")
            continue
        table = Table(texts.header("metric"), texts.header("value"))
        for name, value in sorted(metrics.items()):
            shown = texts.number(value) if isinstance(value, int | float) else str(value)
            table.add_row(texts.metric(name), shown)
        console.print(table)
    click.echo("")
    click.echo(texts("incident.notifications"))
    if not record["notifications"]:
        click.echo(f"  {texts('incident.no_notification')}")
        return
    table = Table(*(texts.header(c) for c in NOTIFICATION_COLUMNS))
    for row in record["notifications"]:
        table.add_row(*(texts.value(c, row[c]) for c in NOTIFICATION_COLUMNS))
    console.print(table)


def _find(session: Session, incident_id: str) -> Incident:
    """An incident by its id or an unambiguous prefix of it (ids are long UUIDs)."""
    from vp_monitor.registry.service import NotFound

    query = select(Incident).where(Incident.id.startswith(incident_id, autoescape=True))
    found = session.scalars(query.limit(2)).all()
    if len(found) != 1:
        key = "incident.ambiguous_id" if found else "incident.unknown_id"
        raise NotFound(key, id=incident_id)
    return found[0]


WITH_PLACES = (selectinload(Camera.site), selectinload(Camera.municipality))


def _municipality_filter(query, insee: str | None):
    if insee is None:
        return query
    return query.join(Municipality, Camera.municipality_id == Municipality.id).where(
        Municipality.insee == insee
    )


@click.group("incident")
def incident() -> None:
    """Incidents: list, show, acknowledge."""


@incident.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved incidents.")
@click.option("--municipality", help="INSEE: only this municipality's cameras.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@json_option
@pass_context
def incident_list(context: Context, show_all, municipality, limit, as_json) -> None:
    """Unresolved incidents, newest first."""
    with context.registry() as registry:
        session = registry.session
        query = select(Incident)
        if municipality is not None:  # camera incidents and site outages of that municipality
            town = select(Municipality.id).where(Municipality.insee == municipality)
            query = query.outerjoin(Camera, Incident.camera_id == Camera.id).outerjoin(
                Site, Incident.site_id == Site.id
            )
            query = query.where(
                or_(Camera.municipality_id.in_(town), Site.municipality_id.in_(town))
            )
        if not show_all:
            query = query.where(Incident.status != "resolved")
        query = query.order_by(Incident.opened_at.desc()).limit(limit)
        records = [incident_record(session, i) for i in session.scalars(query)]
    if not records and not as_json:
        click.echo(context.texts("incident.none_at_all" if show_all else "incident.none"))
        return
    if not as_json:  # `incident show` and `ack` take a unique prefix: a table needs no more
        for record in records:
            record["id"] = record["id"][:SHORT_ID]
    print_records(records, LIST_COLUMNS, as_json)


@incident.command("show")
@click.argument("incident_id")
@click.option("--evidence", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the evidence frame (JPEG) to this file.")  # fmt: skip
@json_option
@pass_context
def incident_show(context: Context, incident_id, evidence, as_json) -> None:
    """One incident: its camera and place, its metrics, the notifications sent; optionally its
    evidence frame."""
    texts = context.texts
    with context.registry() as registry:
        found = _find(registry.session, incident_id)
        record = incident_record(registry.session, found)
        record["notifications"] = notifications_sent(registry.session, found.id)
        jpeg = found.evidence_jpeg
    if evidence is not None:
        if not jpeg:
            click.echo(texts("incident.no_evidence"), err=True)
        else:
            evidence.write_bytes(jpeg)
            click.echo(texts("incident.evidence_written", path=evidence), err=True)
    if as_json:
        print_json(record)
    else:
        print_incident(record, texts)


@incident.command("ack")
@click.argument("incident_id")
@click.option("--note", default="", help="What is being done about it.")
@pass_context
def incident_ack(context: Context, incident_id, note) -> None:
    """Acknowledge an incident: stops escalation and reminders, and tells the recipients."""
    from vp_monitor.alerts.incidents import acknowledge

    with context.registry() as registry:
        found = _find(registry.session, incident_id)
        before = found.status
        acknowledge(registry.session, found.id, context.actor, note, context.settings.alerts)
        if before != "open":
            status = context.texts.value("status", before)
            click.echo(context.texts("incident.not_open", id=found.id, status=status))
            return
    click.echo(context.texts("incident.acknowledged", id=found.id, actor=context.actor))


@click.command("status")
@click.option("--municipality", help="INSEE: only this municipality's cameras.")
@click.option("--problems", is_flag=True, help="Only cameras that are not ok.")
@json_option
@pass_context
def status(context: Context, municipality, problems, as_json) -> None:
    """The status wall: every active camera's current state, worst first."""
    from vp_monitor.monitor.models import CameraStatus

    order = {"down": 0, "degraded": 1, "unknown": 2, "maintenance": 3, "ok": 4}
    with context.registry() as registry:
        query = (
            select(Camera, CameraStatus)
            .options(*WITH_PLACES)
            .outerjoin(CameraStatus, CameraStatus.camera_id == Camera.id)
        )
        query = _municipality_filter(query, municipality).where(
            Camera.lifecycle != Lifecycle.DECOMMISSIONED
        )
        open_incidents = _open_camera_incidents(registry.session)
        records, watched = [], 0
        for camera, current in registry.session.execute(query):
            watched += 1
            state = current.state if current else "unknown"
            if problems and state == "ok":
                continue
            incident = open_incidents.get(camera.id)
            records.append({
                "camera": camera.code,
                "site": camera.site.name,
                "municipality": camera.municipality.insee,
                "state": state,
                "conditions": list(current.conditions or []) if current else [],
                "since": current.since if current else None,
                "last_check": current.last_check_at if current else None,
                "incident": incident.id if incident else None,
                "incident_status": incident.status if incident else None,
                "acknowledged_by": incident.acknowledged_by if incident else None,
            })  # fmt: skip
    records.sort(key=lambda r: (order.get(r["state"], 5), r["camera"]))
    if not records and not as_json:
        click.echo(context.texts("status.no_problem" if watched else "status.no_camera"))
        return
    print_records(records, STATUS_COLUMNS, as_json)


def _open_camera_incidents(session: Session) -> dict[int, Incident]:
    """Each camera's unresolved incident (the newest, should there be several)."""
    query = (
        select(Incident)
        .where(Incident.status != "resolved", Incident.camera_id.is_not(None))
        .order_by(Incident.opened_at)
    )
    return {incident.camera_id: incident for incident in session.scalars(query)}


def _when(value: str | None, default: datetime, texts: Texts) -> datetime:
    """An ISO 8601 option; without an offset it is a local time of the display time zone."""
    if value is None:
        return default
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=texts.zone)


@click.command("availability")
@click.option("--from", "start", help="Start (ISO 8601; default: 24 hours ago).")
@click.option("--to", "end", help="End (ISO 8601; default: now; a later end is measured to now).")
@click.option("--municipality", help="INSEE: only this municipality's cameras.")
@json_option
@pass_context
def availability_command(context: Context, start, end, municipality, as_json) -> None:
    """Share of time each camera had usable video, maintenance windows excluded.

    Degraded time with a usable picture (low frame rate, clock drift…) counts as available and
    is shown on its own; a black, frozen, covered… picture counts as unavailable.
    """
    from vp_monitor.db import utcnow
    from vp_monitor.monitor.availability import availability, observed_until

    texts = context.texts
    now = utcnow()
    end_at = _when(end, now, texts)
    start_at = _when(start, end_at - timedelta(days=1), texts)
    if start_at >= end_at:
        raise click.BadParameter("--from must be before --to")
    until = max(observed_until(end_at, now), start_at)  # time still to come is not measured
    with context.registry() as registry:
        session = registry.session
        query = _municipality_filter(select(Camera).options(*WITH_PLACES), municipality)
        cameras = {camera.id: camera for camera in session.scalars(query)}
        # The whole fleet unfiltered: a literal list of every id outgrows SQLite's parameters.
        found = availability(session, start_at, until, cameras if municipality else None)
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
                "from": start_at.astimezone(UTC).isoformat(),
                "to": until.astimezone(UTC).isoformat(),
            })  # fmt: skip
    if not as_json:  # the window used, said once above the table (in each JSON row otherwise)
        period = texts("availability.period", start=texts.moment(start_at),
                       end=texts.moment(until), zone=texts.zone.key)  # fmt: skip
        click.echo(period + (texts("availability.until_now") if until < end_at else ""))
    columns = ("camera", "site", "municipality", "availability_pct", "down_min", "degraded_min",
               "maintenance_min")  # fmt: skip
    print_records(records, columns, as_json)


@click.command("report")
@click.option("--day", help="Local day YYYY-MM-DD (default: yesterday).")
@click.option("--municipality", help="INSEE: this municipality's cameras.")
@click.option("--maintainer", help="Maintainer company: the cameras it maintains.")
@click.option("--language", type=click.Choice(["fr", "en"]),
              help="Language of the report (default: the configured language).")  # fmt: skip
@json_option
@pass_context
def report_command(context: Context, day, municipality, maintainer, language, as_json) -> None:
    """The daily report of a municipality, a maintainer or the whole fleet, as contacts get it."""
    import json
    from zoneinfo import ZoneInfo

    from vp_monitor.alerts.report_format import plain_report
    from vp_monitor.alerts.reports import Scope, build_report, day_period
    from vp_monitor.db import utcnow
    from vp_monitor.registry.models import Maintainer
    from vp_monitor.registry.service import NotFound

    settings = context.settings.alerts
    if municipality and maintainer:
        raise click.UsageError("give --municipality or --maintainer, not both")
    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a day (YYYY-MM-DD)", param_hint="--day") from None
    if wanted is None:
        wanted = utcnow().astimezone(ZoneInfo(settings.timezone)).date() - timedelta(days=1)
    with context.registry() as registry:
        scope = Scope("all")
        if municipality:
            town = registry.municipality(municipality)
            scope = Scope("municipality", town.name, town.id)
        elif maintainer:
            found = registry.session.scalar(select(Maintainer).where(Maintainer.name == maintainer))
            if found is None:
                raise NotFound("maintainer.unknown", name=maintainer)
            scope = Scope("maintainer", found.name, None, found.id)
        content = build_report(registry.session, scope, day_period(wanted, settings.timezone),
                               settings)  # fmt: skip
    if as_json:
        click.echo(json.dumps(content, ensure_ascii=False, indent=2))
    else:
        click.echo(plain_report(content, language or context.settings.language), nl=False)
