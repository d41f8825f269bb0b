"""Operators' commands: the status wall in a terminal, incidents listed, shown, acknowledged."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from vp_monitor.cli_context import (
    Context,
    json_option,
    pass_context,
    print_json,
    print_records,
    run_at_edge,
    table_console,
)
from vp_monitor.conditions import SEVERITIES
from vp_monitor.service import commands, views
from vp_monitor.service.scope import Scope
from vp_monitor.texts import Texts

LIST_COLUMNS = ("id", "kind", "status", "severity", "camera", "site", "conditions", "opened_at",
                "acknowledged_by")  # fmt: skip
STATUS_COLUMNS = ("camera", "site", "municipality", "state", "conditions", "since", "last_check",
                  "incident_status", "acknowledged_by")  # fmt: skip
SHORT_ID = 8  # characters of an incident id shown in tables (random UUIDs: unique in practice)
NOTIFICATION_COLUMNS = ("event", "channel", "recipient", "status", "sent_at")


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


@click.group("incident")
def incident() -> None:
    """Incidents: list, show, acknowledge, resolve."""


@incident.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved incidents.")
@click.option("--municipality", help="INSEE: only this municipality's cameras.")
@click.option("--severity", type=click.Choice(list(reversed(SEVERITIES))),
              help="Only incidents of this severity.")  # fmt: skip
@click.option("--camera", help="Only this camera's incidents (asset code).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@json_option
@pass_context
def incident_list(context: Context, show_all, municipality, limit, as_json, **filters) -> None:
    """Unresolved incidents, newest first."""
    scope = Scope.narrowed(municipality)
    with context.registry() as registry:
        records = views.incidents(registry.session, scope, show_all, limit, **filters)
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
        record = views.incident_detail(registry.session, Scope.supervision(), incident_id)
    jpeg = record.pop("evidence_jpeg")
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
    done = run_at_edge(commands.acknowledge(context.app, incident_id, note))
    if done.status_before != "open":
        status = context.texts.value("status", done.status_before)
        click.echo(context.texts("incident.not_open", id=done.incident_id, status=status))
        return
    click.echo(context.texts("incident.acknowledged", id=done.incident_id, actor=done.by))


@incident.command("resolve")
@click.argument("incident_id")
@click.option("--note", default="", help="Why it is over (repaired, false alarm, ...).")
@pass_context
def incident_resolve(context: Context, incident_id, note) -> None:
    """Resolve an incident by hand: tells whoever heard about it; the note goes to the audit
    trail. The monitor opens it again if the camera is still in trouble."""
    done = run_at_edge(commands.resolve(context.app, incident_id, note))
    if done.status_before == "resolved":
        click.echo(context.texts("incident.already_resolved", id=done.incident_id))
        return
    click.echo(context.texts("incident.resolved", id=done.incident_id, actor=done.by))


@click.command("status")
@click.option("--municipality", help="INSEE: only this municipality's cameras.")
@click.option("--problems", is_flag=True, help="Only cameras that are not ok.")
@json_option
@pass_context
def status(context: Context, municipality, problems, as_json) -> None:
    """The status wall: every active camera's current state, worst first."""
    with context.registry() as registry:
        wall = views.status_wall(registry.session, Scope.narrowed(municipality), problems)
    if not wall.cameras and not as_json:
        click.echo(context.texts("status.no_problem" if wall.watched else "status.no_camera"))
        return
    print_records(wall.cameras, STATUS_COLUMNS, as_json)


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
    from vp_monitor.db import observed_until, utcnow

    texts = context.texts
    now = utcnow()
    end_at = _when(end, now, texts)
    start_at = _when(start, end_at - timedelta(days=1), texts)
    if start_at >= end_at:
        raise click.BadParameter("--from must be before --to")
    until = max(observed_until(end_at, now), start_at)  # time still to come is not measured
    with context.registry() as registry:
        scope = Scope.narrowed(municipality)
        records = views.availability_records(registry.session, scope, start_at, until)
    if not as_json:  # the window used, said once above the table (in each JSON row otherwise)
        period = texts("availability.period", start=texts.moment(start_at),
                       end=texts.moment(until), zone=texts.zone.key)  # fmt: skip
        click.echo(period + (texts("availability.until_now") if until < end_at else ""))
    columns = ("camera", "site", "municipality", "availability_pct", "down_min", "degraded_min",
               "maintenance_min")  # fmt: skip
    print_records(records, columns, as_json)


@click.command("states")
@click.argument("code")
@click.option("--from", "start", help="Start (ISO 8601; default: 24 hours ago).")
@click.option("--to", "end", help="End (ISO 8601; default: now).")
@json_option
@pass_context
def camera_states(context: Context, code, start, end, as_json) -> None:
    """A camera's changes of state over a period, with the state it was in at the start."""
    from vp_monitor.db import utcnow
    from vp_monitor.service.lists import state_history

    texts = context.texts
    end_at = _when(end, utcnow(), texts)
    start_at = _when(start, end_at - timedelta(days=1), texts)
    if start_at >= end_at:
        raise click.BadParameter("--from must be before --to")
    with context.registry() as registry:
        history = state_history(registry.session, Scope.supervision(), code, start_at, end_at)
    if as_json:
        print_json(history)
        return
    click.echo(texts("availability.period", start=texts.moment(start_at),
                     end=texts.moment(end_at), zone=texts.zone.key))  # fmt: skip
    at_start = texts.value("state", history["state_at_start"]) or "—"  # none recorded
    click.echo(texts("states.at_start", state=at_start))
    if not history["items"]:
        click.echo(texts("states.none"))
        return
    print_records(history["items"], ("at", "previous", "state", "conditions"), as_json)


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
    from vp_monitor.db import utcnow

    settings = context.settings.alerts
    if municipality and maintainer:
        raise click.UsageError("give --municipality or --maintainer, not both")
    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a day (YYYY-MM-DD)", param_hint="--day") from None
    if wanted is None:
        wanted = utcnow().astimezone(ZoneInfo(settings.timezone)).date() - timedelta(days=1)
    scope = Scope.of_maintainer(maintainer) if maintainer else Scope.narrowed(municipality)
    with context.registry() as registry:
        content = views.daily_report(registry, scope, wanted, settings)
    if as_json:
        click.echo(json.dumps(content, ensure_ascii=False, indent=2))
    else:
        click.echo(plain_report(content, language or context.settings.language), nl=False)
