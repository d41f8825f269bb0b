"""`vp-monitor` command line: technicians' registry commands, checks, simulator, server."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args

import click
from rich.console import Console

from vp_monitor.cli_context import (
    EXIT_BAD_INPUT,
    Context,
    ErrorsAsExitCodes,
    current_texts,
    fail,
    json_option,
    pass_context,
    print_record,
    print_records,
    run_at_edge,
    warn,
)
from vp_monitor.conditions import CONDITIONS, SEVERITIES, STATE_NAMES
from vp_monitor.service import commands
from vp_monitor.service.lists import CameraSort
from vp_monitor.service.scope import Scope
from vp_monitor.texts import Message


@click.group(cls=ErrorsAsExitCodes)
@click.option("--config", type=click.Path(dir_okay=False), help="TOML configuration file.")
@click.option(
    "--database-url",
    help="Database URL (overrides VP_DATABASE_URL and the config).",
    callback=lambda _ctx, _param, value: warn_password_in_url(value, "--database-url", ENV_INSTEAD),
)
@click.option("--actor", help="Name recorded in the audit trail (default: $VP_ACTOR or $USER).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.version_option(package_name="vp-monitor")
@click.pass_context
def main(ctx: click.Context, config, database_url, actor, verbose) -> None:
    """vp-monitor: registry and health monitor for video-protection cameras."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Context(config, database_url, actor)
    ctx.call_on_close(ctx.obj.close)


# -- db --------------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Database schema and keys."""


@db.command("upgrade")
@pass_context
def db_upgrade(context: Context) -> None:
    """Create the database, or migrate its schema to the latest version."""
    from vp_monitor.db import open_database, shown_url

    open_database(context.settings.database_url, create=True).dispose()
    click.echo(f"{context.texts('db.up_to_date')} ({shown_url(context.settings.database_url)})")


@db.command("new-key")
def db_new_key() -> None:
    """Print a new encryption key for VP_SECRET_KEY."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@main.group("config")
def config_group() -> None:
    """Configuration file."""


@config_group.command("example")
def config_example() -> None:
    """Print the documented example configuration (every key with its default)."""
    from vp_monitor.config import example_toml

    click.echo(example_toml(), nl=False)


@config_group.command("check")
@pass_context
def config_check(context: Context) -> None:
    """Validate the configuration (file and VP_* variables), open the database, say so."""
    from vp_monitor.db import shown_url

    context.settings  # noqa: B018  (loading validates)
    context.engine.dispose()  # reachable, and holds the schema
    shown = shown_url(context.settings.database_url)
    click.echo(f"{context.texts('config.valid')} ({shown})")


# -- municipality ----------------------------------------------------------------------------
@main.group()
def municipality() -> None:
    """Municipalities (communes) identified by INSEE code."""


@municipality.command("add")
@click.option("--insee", required=True, help="INSEE code, e.g. 92012.")
@click.option("--name", help="Name (default: the official name of the commune).")
@click.option("--departement", help="Département (default: from the INSEE code).")
@click.option("--force", is_flag=True, help="Accept a code outside the official list shipped.")
@pass_context
def municipality_add(context: Context, insee, name, departement, force) -> None:
    """Add a municipality (a current commune of the official list, unless --force)."""
    from vp_monitor.registry.schemas import MunicipalityInput

    data = MunicipalityInput(insee=insee, name=name, departement=departement)
    with context.registry() as registry:
        added = registry.add_municipality(data, force=force)
    click.echo(context.texts("municipality.added", insee=added.insee, name=added.name))


@municipality.command("list")
@json_option
@pass_context
def municipality_list(context: Context, as_json) -> None:
    """List municipalities, with their number of cameras."""
    from vp_monitor.service.lists import list_municipalities

    with context.registry() as registry:
        records = list_municipalities(registry.session, Scope.supervision())["items"]
    print_records(records, ("insee", "name", "departement", "cameras"), as_json)


@municipality.command("show")
@click.argument("insee")
@json_option
@pass_context
def municipality_show(context: Context, insee, as_json) -> None:
    """Show one municipality."""
    from vp_monitor.registry.service import municipality_record

    with context.registry() as registry:
        print_record(municipality_record(registry.municipality(insee)), as_json)


@municipality.command("update")
@click.argument("insee")
@click.option("--name")
@click.option("--departement")
@pass_context
def municipality_update(context: Context, insee, name, departement) -> None:
    """Change a municipality's name or département."""
    with context.registry() as registry:
        registry.update_municipality(insee, name=name, departement=departement)
    click.echo(context.texts("municipality.updated", insee=insee))


@municipality.command("remove")
@click.argument("insee")
@pass_context
def municipality_remove(context: Context, insee) -> None:
    """Remove a municipality that has no sites."""
    with context.registry() as registry:
        registry.remove_municipality(insee)
    click.echo(context.texts("municipality.removed", insee=insee))


# -- site ------------------------------------------------------------------------------------
SITE_COLUMNS = ("id", "name", "municipality", "uplink", "latitude", "longitude", "address")


def site_options(required: bool):
    def decorate(function):
        for option in reversed(
            [
                click.option("--municipality", "municipality", required=required, help="INSEE."),
                click.option("--uplink", help="Network uplink identifier shared by the site."),
                click.option("--lat", "latitude", type=float, help="Latitude (WGS84)."),
                click.option("--lon", "longitude", type=float, help="Longitude (WGS84)."),
                click.option("--address"),
            ]
        ):
            function = option(function)
        return function

    return decorate


@main.group()
def site() -> None:
    """Sites (places where cameras are installed)."""


@site.command("add")
@click.argument("name")
@site_options(required=True)
@pass_context
def site_add(context: Context, name, municipality, uplink, latitude, longitude, address) -> None:
    """Add a site to a municipality."""
    from vp_monitor.registry.schemas import SiteInput

    data = SiteInput(
        name=name, municipality=municipality, uplink=uplink, latitude=latitude,
        longitude=longitude, address=address,
    )  # fmt: skip
    with context.registry() as registry:
        created = registry.add_site(data)
        click.echo(context.texts("site.added", id=created.id, name=created.name))


@site.command("list")
@click.option("--municipality", help="Only this municipality (INSEE).")
@json_option
@pass_context
def site_list(context: Context, municipality, as_json) -> None:
    """List sites, with their number of cameras."""
    from vp_monitor.service.lists import SiteFilters, list_sites

    with context.registry() as registry:
        if municipality:
            registry.municipality(municipality)  # an unknown one is an error, not an empty list
        wanted = SiteFilters(municipality=municipality, sort="id")
        records = list_sites(registry.session, Scope.supervision(), wanted)["items"]
    print_records(records, (*SITE_COLUMNS, "cameras"), as_json)


@site.command("show")
@click.argument("ref")
@click.option("--municipality", help="INSEE, when the name is not unique.")
@json_option
@pass_context
def site_show(context: Context, ref, municipality, as_json) -> None:
    """Show one site (by id or name)."""
    from vp_monitor.registry.service import site_record

    with context.registry() as registry:
        print_record(site_record(registry.site(ref, municipality)), as_json)


@site.command("update")
@click.argument("ref")
@click.option("--name", help="New name.")
@site_options(required=False)
@pass_context
def site_update(context: Context, ref, name, municipality, **changes) -> None:
    """Change a site (by id or name)."""
    with context.registry() as registry:
        updated = registry.update_site(ref, municipality, name=name, **changes)
        click.echo(context.texts("site.updated", id=updated.id))


@site.command("remove")
@click.argument("ref")
@click.option("--municipality", help="INSEE, when the name is not unique.")
@pass_context
def site_remove(context: Context, ref, municipality) -> None:
    """Remove a site that has no cameras."""
    with context.registry() as registry:
        registry.remove_site(ref, municipality)
    click.echo(context.texts("site.removed", ref=ref))


# -- camera ----------------------------------------------------------------------------------
CAMERA_COLUMNS = ("code", "name", "municipality", "site", "kind", "lifecycle", "state",
                  "onvif_host")  # fmt: skip
KINDS = click.Choice(["fixed", "ptz", "dome", "multisensor"])
SEVERITY_CHOICES = list(reversed(SEVERITIES))  # least severe first
LIFECYCLES = click.Choice(["planned", "active", "maintenance", "decommissioned"])


def camera_options(function):
    """Options shared by `camera add` and `camera update`."""
    options = [
        click.option("--name"),
        click.option("--kind", type=KINDS),
        click.option("--onvif", "onvif_host", help="ONVIF address HOST[:PORT]."),
        click.option("--rtsp", "rtsp_main", help="Main stream RTSP URL.", callback=_rtsp_url),
        click.option("--rtsp-sub", "rtsp_sub", help="Sub stream RTSP URL.", callback=_rtsp_url),
        click.option("--user", "username", help="Camera user name."),
        click.option(
            "--password-stdin", is_flag=True, help="Read the camera password from standard input."
        ),
        click.option("--lifecycle", type=LIFECYCLES),
        click.option("--maintainer", help="Maintainer company."),
        click.option("--installed-on", "installed_on", help="Installation date YYYY-MM-DD."),
        click.option("--authorisation", "authorisation_number", help="Prefectoral authorisation."),
        click.option("--authorisation-expires", "authorisation_expires", help="YYYY-MM-DD."),
        click.option("--tag", "tags", multiple=True, help="Tag (repeatable)."),
        click.option("--notes"),
        click.option(
            "--allow-duplicate-device",
            is_flag=True,
            help="Accept a serial, stream URL or ONVIF address another camera has (shared "
            "encoder).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


STDIN_INSTEAD = "warning.instead_stdin"
ENV_INSTEAD = "warning.instead_env"


def warn_password_in_url(url: str | None, option: str, instead: str) -> str | None:
    """Warn when a URL given on the command line holds a password: `ps` shows it to all users."""
    from urllib.parse import urlsplit

    try:
        password = urlsplit(url).password if url else None
    except ValueError:  # a malformed URL is reported by validation
        password = None
    if password:
        warn(Message("warning.password_in_url", option=option, instead=Message(instead)))
    return url


def _rtsp_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return warn_password_in_url(value, param.opts[0], STDIN_INSTEAD)


def read_password(password_stdin: bool) -> str | None:
    """The password piped on standard input (never taken as an argument: `ps` would show it)."""
    if not password_stdin:
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        fail(Message("password.stdin_empty"))
    return line


@main.group()
def camera() -> None:
    """Cameras: register, list, import, export, decommission."""


@camera.command("add")
@click.argument("code")
@click.option("--site", required=True, help="Site id or name.")
@click.option("--municipality", required=True, help="INSEE code.")
@camera_options
@click.option(
    "--no-probe", is_flag=True, help="Register offline, without asking the camera (not installed "
    "yet)."
)  # fmt: skip
@pass_context
def camera_add(
    context: Context, code, password_stdin, tags, no_probe, allow_duplicate_device, **fields
) -> None:
    """Register a camera (give --onvif HOST[:PORT] or --rtsp URL).

    With --onvif the camera is asked for its identity, profiles and stream URLs; with --rtsp
    its stream is opened with the credentials. Either way its first reference image is taken,
    and a camera that cannot be read (wrong password, no answer) is not registered.
    """
    from vp_monitor.registry.schemas import CameraInput

    if not (fields["onvif_host"] or fields["rtsp_main"]):
        raise click.UsageError("give --onvif HOST[:PORT] or --rtsp URL")
    data = CameraInput(
        code=code, password=read_password(password_stdin), tags=list(tags) or None,
        **{k: v for k, v in fields.items() if v is not None},
    )  # fmt: skip
    app = context.app
    if no_probe:
        with context.registry() as registry:
            registry.add_camera(data, allow_duplicate_device)
        click.echo(context.texts("camera.added", code=code))
    elif data.onvif_host:
        added = run_at_edge(commands.add_from_onvif(app, data, allow_duplicate_device))
        click.echo(context.texts(
            "camera.added_onvif", code=code, manufacturer=added["manufacturer"],
            model=added["model"], serial=added["serial"], firmware=added["firmware"],
        ))  # fmt: skip
    else:
        added = run_at_edge(commands.add_from_rtsp(app, data, allow_duplicate_device))
        click.echo(context.texts(
            "camera.added_rtsp", code=code, codec=added["expected_codec"],
            width=added["expected_width"], height=added["expected_height"],
        ))  # fmt: skip


@camera.command("update")
@click.argument("code")
@click.option("--site", help="Site id or name.")
@click.option("--municipality", help="INSEE code.")
@camera_options
@pass_context
def camera_update(
    context: Context, code, password_stdin, tags, allow_duplicate_device, **fields
) -> None:
    """Change a camera's fields (only the options given)."""
    with context.registry() as registry:
        _camera, changed = registry.update_camera(
            code, allow_duplicate_device, password=read_password(password_stdin),
            tags=list(tags) or None, **fields,
        )  # fmt: skip
    click.echo(context.texts("camera.updated" if changed else "camera.unchanged", code=code))


@camera.command("list")
@click.option("--municipality", help="Only this municipality (INSEE).")
@click.option("--site", help="Only this site (id or name).")
@click.option("--state", "states", multiple=True, type=click.Choice(STATE_NAMES),
              help="Only cameras in this state (repeatable).")  # fmt: skip
@click.option("--condition", type=click.Choice(sorted(CONDITIONS)),
              help="Only cameras with this current condition.")  # fmt: skip
@click.option("--severity", type=click.Choice(SEVERITY_CHOICES),
              help="Only cameras whose worst incident or condition is this severe.")  # fmt: skip
@click.option("--maintainer", help="Only cameras this company maintains.")
@click.option("--tag", help="Only cameras with this tag.")
@click.option("--lifecycle", type=LIFECYCLES, help="Only cameras in this lifecycle.")
@click.option("--search", "q", help="Text in the code, name or site address.")
@click.option("--sort", type=click.Choice(get_args(CameraSort)), default="code",
              show_default=True, help="Order (`worst`: down first; `-` reverses).")  # fmt: skip
@json_option
@pass_context
def camera_list(context: Context, municipality, site, states, as_json, **filters) -> None:
    """List cameras, with their state."""
    from vp_monitor.service.lists import CameraFilters, list_cameras

    with context.registry() as registry:
        if municipality:
            registry.municipality(municipality)  # an unknown one is an error, not an empty list
        site_id = registry.site(site, municipality).id if site else None
        wanted = CameraFilters(municipality=municipality, site=site_id,
                               state=list(states) or None, **filters)  # fmt: skip
        records = list_cameras(registry.session, Scope.supervision(), wanted)["items"]
    print_records(records, CAMERA_COLUMNS, as_json)


@camera.command("show")
@click.argument("code")
@json_option
@pass_context
def camera_show(context: Context, code, as_json) -> None:
    """Show one camera (the password is never shown)."""
    from vp_monitor.registry.service import camera_record

    with context.registry() as registry:
        print_record(camera_record(registry.camera(code)), as_json)


@camera.command("history")
@click.argument("code")
@json_option
@pass_context
def camera_history(context: Context, code, as_json) -> None:
    """Audit trail of one camera: who changed what, when."""
    from vp_monitor.service.registry import audit_changes

    with context.registry() as registry:
        records = [
            {"at": e.at, "actor": e.actor, "action": e.action,
             "changes": audit_changes(e.before, e.after)}
            for e in registry.history("camera", code)
        ]  # fmt: skip
    if not as_json:
        texts = context.texts
        for record in records:
            record["changes"] = "; ".join(
                _change_text(texts, name, change["before"], change["after"])
                for name, change in record["changes"].items()
                if texts.value(name, change["before"]) or texts.value(name, change["after"])
            )
    print_records(records, ("at", "actor", "action", "changes"), as_json)


def _change_text(texts: Any, name: str, before: Any, after: Any) -> str:
    """One changed field for people: "nom : Parvis → Cour" ("nom : Parvis" when created)."""
    old, new = texts.value(name, before), texts.value(name, after)
    if not old:
        return f"{texts.header(name)}{texts('colon')}{new}"
    return f"{texts.header(name)}{texts('colon')}{old} → {new or texts('none')}"


@camera.command("decommission")
@click.argument("code")
@click.option("--note", help="Why (kept in the camera's notes).")
@pass_context
def camera_decommission(context: Context, code, note) -> None:
    """Retire a camera: it stops being checked and keeps its history."""
    with context.registry() as registry:
        registry.decommission_camera(code, note)
    click.echo(context.texts("camera.decommissioned", code=code))


@camera.command("remove")
@click.argument("code")
@pass_context
def camera_remove(context: Context, code) -> None:
    """Delete a camera record entered by mistake (use `decommission` for a retired camera)."""
    with context.registry() as registry:
        registry.remove_camera(code)
    click.echo(context.texts("camera.removed", code=code))


@camera.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows even if some are bad.")
@click.option(
    "--allow-duplicate-device",
    is_flag=True,
    help="Accept rows whose serial, stream URL or ONVIF address another camera has.",
)
@json_option
@pass_context
def camera_import(
    context: Context, path: Path, dry_run, skip_invalid, allow_duplicate_device, as_json
) -> None:
    """Import cameras from CSV or JSON (columns in the README); all or nothing by default."""
    from vp_monitor.registry.transfer import apply_import, plan_import, read_rows

    rows = read_rows(path)
    with context.registry() as registry:
        plan = plan_import(registry, _with_progress(rows, "validating"), allow_duplicate_device)
        report = {
            "file": str(path), "dry_run": dry_run, "skip_invalid": skip_invalid,
            **plan.summary(),
        }  # fmt: skip
        report["problems"] = [p.message.render(context.texts) for p in plan.problems]
        if plan.problems and not skip_invalid:
            report["written"] = False
            _import_report(report, as_json)
            sys.exit(EXIT_BAD_INPUT)
        if not dry_run:
            total = len(plan.create) + len(plan.update)
            with _progress_bar(total, "writing") as advance:
                apply_import(registry, plan, advance)
        report["written"] = not dry_run
    _import_report(report, as_json)
    if plan.problems:
        sys.exit(EXIT_BAD_INPUT)


PROGRESS_THRESHOLD = 300


def _with_progress(rows: list, label: str) -> Iterable:
    if len(rows) <= PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return rows
    from rich.progress import track

    return track(rows, description=label, console=Console(stderr=True))


@contextmanager
def _progress_bar(total: int, label: str) -> Iterator[Any]:
    if total <= PROGRESS_THRESHOLD or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def _import_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    texts = current_texts()
    for problem in report["problems"]:
        click.echo(texts("import.file_problem", path=report["file"], problem=problem), err=True)
    counts = (("count.to_create", "create"), ("count.to_update", "update"),
              ("count.unchanged", "unchanged"), ("count.new_site", "new_sites"),
              ("count.invalid_row", "invalid_rows"))  # fmt: skip
    click.echo(", ".join(texts(key, count=report[field]) for key, field in counts))
    if report["problems"] and not report["skip_invalid"]:
        click.echo(texts("import.summary.fix_dry" if report["dry_run"] else "import.summary.fix"))
    elif not (report["create"] or report["update"] or report["new_sites"]):
        click.echo(texts("import.summary.nothing_to_change"))
    else:
        click.echo(texts("import.summary.would" if report["dry_run"] else "import.summary.were"))


@camera.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--excel", is_flag=True, help="CSV for French Excel: UTF-8 with a BOM, ';' separated."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def camera_export(context: Context, fmt, as_json, excel, output: Path | None) -> None:
    """Export cameras (CSV or JSON, re-importable; passwords are a placeholder)."""
    from vp_monitor.registry.transfer import write_export
    from vp_monitor.service.registry import export_cameras
    from vp_monitor.service.scope import Scope

    fmt = "json" if as_json else fmt
    if excel and fmt == "json":
        raise click.UsageError("--excel writes CSV: not with --json or --format json")
    with context.registry() as registry:
        records = export_cameras(registry, Scope.supervision())
    if output is None:
        write_export(records, fmt, sys.stdout, excel)
        return
    temporary = output.with_name(output.name + ".tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        write_export(records, fmt, handle, excel)
    temporary.replace(output)  # never leave a half-written export behind
    click.echo(context.texts("camera.exported", count=len(records), path=output), err=True)


# -- contact ---------------------------------------------------------------------------------
@main.group()
def contact() -> None:
    """Who is told: municipalities', maintainers' and the supervision centre's recipients."""


def _quiet(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    start, sep, end = value.partition("-")
    if not sep:
        raise click.BadParameter("expected HH:MM-HH:MM, e.g. 22:00-07:00", param_hint="--quiet")
    return start, end


@contact.command("add")
@click.argument("name")
@click.option("--channel", type=click.Choice(["email", "webhook", "mqtt"]), required=True)
@click.option("--address", required=True, help="E-mail address, webhook URL or MQTT topic prefix.")
@click.option("--municipality", help="INSEE: the contact hears about this municipality only.")
@click.option("--maintainer", help="Maintainer company: hears about the cameras it maintains.")
@click.option("--min-severity", type=click.Choice(SEVERITY_CHOICES), default="minor")
@click.option("--language", type=click.Choice(["fr", "en"]), default="fr")
@click.option("--level", type=int, default=0, help="Escalation level (0 is told first).")
@click.option("--quiet", help="Quiet hours HH:MM-HH:MM (non-critical messages wait).")
@click.option("--digest", is_flag=True, help="Gather events into digests at the digest times.")
@click.option("--reports", is_flag=True, help="Send the daily report about its cameras.")
@click.option("--secret-stdin", is_flag=True, help="Read the webhook signing key from stdin.")
@pass_context
def contact_add(context: Context, name, quiet, secret_stdin, **fields) -> None:
    """Add a recipient (without --municipality or --maintainer: the supervision centre)."""
    from vp_monitor.registry.schemas import ContactInput

    quiet_from, quiet_until = _quiet(quiet)
    data = ContactInput(
        name=name, quiet_from=quiet_from, quiet_until=quiet_until,
        secret=read_password(secret_stdin), **fields,
    )  # fmt: skip
    with context.registry() as registry:
        added = registry.add_contact(data)
        click.echo(context.texts("contact.added", id=added.id, name=added.name))


@contact.command("list")
@json_option
@pass_context
def contact_list(context: Context, as_json) -> None:
    """List recipients."""
    from vp_monitor.registry.service import contact_record

    with context.registry() as registry:
        records = [contact_record(c) for c in registry.contacts()]
        if not as_json:  # who the contact hears about, in the interface's words
            for record, found in zip(records, registry.contacts(), strict=True):
                record["owner"] = _owner_text(context.texts, found)
    columns = ("id", "name", "channel", "address", "owner", "min_severity", "level",
               "quiet_hours", "digest", "reports")  # fmt: skip
    print_records(records, columns, as_json)


def _owner_text(texts: Any, found: Any) -> str:
    if found.municipality:
        return texts("owner.municipality", name=found.municipality.name)
    if found.maintainer:
        return texts("owner.maintainer", name=found.maintainer.name)
    return texts("owner.supervision")


@contact.command("update")
@click.argument("contact_id", type=int)
@click.option("--min-severity", type=click.Choice(SEVERITY_CHOICES))
@click.option("--language", type=click.Choice(["fr", "en"]))
@click.option("--level", type=click.IntRange(0, 9), help="Escalation level (0 is told first).")
@click.option("--digest/--no-digest", default=None, help="Digests instead of immediate messages.")
@click.option("--reports/--no-reports", default=None, help="The daily report, or not.")
@pass_context
def contact_update(context: Context, contact_id, **changes) -> None:
    """Change how a recipient is told."""
    from vp_monitor.registry.schemas import ContactUpdate

    given = ContactUpdate(**changes).model_dump(exclude_none=True)
    with context.registry() as registry:
        registry.update_contact(contact_id, given)
    click.echo(context.texts("contact.updated", id=contact_id))


@contact.command("remove")
@click.argument("contact_id", type=int)
@pass_context
def contact_remove(context: Context, contact_id) -> None:
    """Remove a recipient."""
    with context.registry() as registry:
        registry.remove_contact(contact_id)
    click.echo(context.texts("contact.removed", id=contact_id))


# -- maintenance -----------------------------------------------------------------------------
@main.group()
def maintenance() -> None:
    """Maintenance windows: alerts silenced, checks go on, excluded from availability."""


@maintenance.command("add")
@click.option("--camera", "camera_code", help="Camera code.")
@click.option("--site", "site_ref", help="Site id or name.")
@click.option("--municipality", help="INSEE (the scope, or to disambiguate --site).")
@click.option("--start", "starts_at", required=True, help="ISO 8601 with time zone.")
@click.option("--end", "ends_at", required=True, help="ISO 8601 with time zone.")
@click.option("--reason", default="")
@pass_context
def maintenance_add(context: Context, camera_code, site_ref, municipality, **fields) -> None:
    """Plan a maintenance window on a camera, a site or a municipality."""
    from vp_monitor.registry.schemas import MaintenanceInput

    if camera_code:
        scope, target = "camera", camera_code
    elif site_ref:
        scope, target = "site", site_ref
    elif municipality:
        scope, target, municipality = "municipality", municipality, None
    else:
        raise click.UsageError("give --camera, --site or --municipality")
    data = MaintenanceInput(scope=scope, target=target, municipality=municipality, **fields)
    window_id = run_at_edge(commands.plan_maintenance(context.app, data))
    click.echo(context.texts("maintenance.planned", id=window_id))


@maintenance.command("list")
@json_option
@pass_context
def maintenance_list(context: Context, as_json) -> None:
    """List maintenance windows, with the camera code, site and municipality names."""
    from vp_monitor.service.views import maintenance_windows

    with context.registry() as registry:
        records = maintenance_windows(registry.session, Scope.supervision())
    if not records and not as_json:
        click.echo(context.texts("maintenance.none"))
        return
    columns = ("id", "scope", "camera", "site", "municipality", "starts_at", "ends_at", "reason")
    print_records(records, columns, as_json)


@maintenance.command("remove")
@click.argument("window_id", type=int)
@pass_context
def maintenance_remove(context: Context, window_id) -> None:
    """Cancel a maintenance window."""
    with context.registry() as registry:
        registry.remove_maintenance(window_id)
    click.echo(context.texts("maintenance.removed", id=window_id))


def _register_commands() -> None:
    """Commands that live with their subsystem, one line each."""
    from vp_monitor.accounts.cli import token, user
    from vp_monitor.alerts.cli import (
        availability_command,
        camera_states,
        incident,
        report_command,
        status,
    )
    from vp_monitor.demo import demo
    from vp_monitor.monitor.cli import nodes, serve
    from vp_monitor.probes.cli import check, discover, reference
    from vp_monitor.sim.cli import sim
    from vp_monitor.vision.cli import analyze

    commands = (sim, analyze, check, discover, serve, nodes, demo, status, incident,
                availability_command, report_command, user, token)  # fmt: skip
    for command in commands:
        main.add_command(command)
    camera.add_command(reference)
    camera.add_command(camera_states)


_register_commands()
