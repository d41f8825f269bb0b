"""Operators' commands: the status wall in a terminal, incidents listed, shown, acknowledged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from vp_monitor.alerts.models import Incident
from vp_monitor.cli_context import Context, json_option, pass_context, print_record, print_records
from vp_monitor.registry.models import Camera, Lifecycle, Municipality, Site

LIST_COLUMNS = ("id", "kind", "status", "severity", "camera", "site", "conditions", "opened_at")
STATUS_COLUMNS = ("camera", "site", "municipality", "state", "conditions", "since", "last_check")


def incident_record(session: Session, incident: Incident) -> dict[str, Any]:
    """What an operator reads about an incident (the evidence frame only as its size)."""
    camera = session.get(Camera, incident.camera_id) if incident.camera_id else None
    site = session.get(Site, incident.site_id) if incident.site_id else None
    return {
        "id": incident.id,
        "kind": incident.kind,
        "status": incident.status,
        "severity": incident.severity,
        "camera": camera.code if camera else None,
        "site": site.name if site else None,
        "conditions": ", ".join(incident.conditions or []),
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


def _find(session: Session, incident_id: str) -> Incident:
    """An incident by its id or an unambiguous prefix of it (ids are long UUIDs)."""
    from vp_monitor.registry.service import NotFound

    query = select(Incident).where(Incident.id.startswith(incident_id, autoescape=True))
    found = session.scalars(query.limit(2)).all()
    if len(found) != 1:
        reason = "matches several incidents" if found else "no incident has this id"
        raise NotFound(f"incident {incident_id!r}: {reason}")
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
    print_records(records, LIST_COLUMNS, as_json)


@incident.command("show")
@click.argument("incident_id")
@click.option("--evidence", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the evidence frame (JPEG) to this file.")  # fmt: skip
@json_option
@pass_context
def incident_show(context: Context, incident_id, evidence, as_json) -> None:
    """One incident with its metrics; optionally its evidence frame."""
    with context.registry() as registry:
        found = _find(registry.session, incident_id)
        record = incident_record(registry.session, found)
        jpeg = found.evidence_jpeg
    if evidence is not None:
        if not jpeg:
            click.echo("this incident has no evidence frame", err=True)
        else:
            evidence.write_bytes(jpeg)
            click.echo(f"evidence frame written to {evidence}", err=True)
    print_record(record, as_json)


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
            click.echo(f"incident {found.id} is {before}: nothing to acknowledge")
            return
    click.echo(f"incident {found.id} acknowledged by {context.actor}")


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
        records = []
        for camera, current in registry.session.execute(query):
            state = current.state if current else "unknown"
            if problems and state == "ok":
                continue
            records.append({
                "camera": camera.code,
                "site": camera.site.name,
                "municipality": camera.municipality.insee,
                "state": state,
                "conditions": ", ".join(current.conditions or []) if current else "",
                "since": current.since if current else None,
                "last_check": current.last_check_at if current else None,
            })  # fmt: skip
    records.sort(key=lambda r: (order.get(r["state"], 5), r["camera"]))
    print_records(records, STATUS_COLUMNS, as_json)


def _when(value: str | None, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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

    now = utcnow()
    end_at = _when(end, now)
    start_at = _when(start, end_at - timedelta(days=1))
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
                "from": start_at.isoformat(),
                "to": until.isoformat(),
            })  # fmt: skip
    if not as_json:  # the window used, said once above the table (in each JSON row otherwise)
        click.echo(_window_line(context.settings.language, start_at, until, until < end_at))
    columns = ("camera", "site", "municipality", "availability_pct", "down_min", "degraded_min",
               "maintenance_min")  # fmt: skip
    print_records(records, columns, as_json)


def _window_line(language: str, start: datetime, end: datetime, cut_at_now: bool) -> str:
    """The period an availability figure covers, e.g. "Période : du … au … (maintenant)"."""
    words = {"fr": ("Période : du {start} au {end}", " (maintenant)"),
             "en": ("Period: from {start} to {end}", " (now)")}[language]  # fmt: skip
    line = words[0].format(start=start.isoformat(timespec="seconds"),
                           end=end.isoformat(timespec="seconds"))  # fmt: skip
    return line + (words[1] if cut_at_now else "")


@click.command("report")
@click.option("--day", help="Local day YYYY-MM-DD (default: yesterday).")
@click.option("--municipality", help="INSEE: this municipality's cameras.")
@click.option("--maintainer", help="Maintainer company: the cameras it maintains.")
@click.option("--language", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
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
                raise NotFound(f"unknown maintainer {maintainer!r}")
            scope = Scope("maintainer", found.name, None, found.id)
        content = build_report(registry.session, scope, day_period(wanted, settings.timezone),
                               settings)  # fmt: skip
    if as_json:
        click.echo(json.dumps(content, ensure_ascii=False, indent=2))
    else:
        click.echo(plain_report(content, language), nl=False)
