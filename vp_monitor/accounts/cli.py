"""`vp-monitor user …` and `vp-monitor token …`: accounts of the web service and API tokens."""

from __future__ import annotations

from datetime import date

import click

from vp_monitor.accounts import service
from vp_monitor.accounts.principal import ROLES
from vp_monitor.accounts.schemas import AccountInput, AccountUpdate, TokenInput
from vp_monitor.cli_context import Context, fail, json_option, pass_context, print_records
from vp_monitor.texts import Message

ACCOUNT_COLUMNS = ("name", "role", "municipalities", "maintainer", "language", "enabled",
                   "last_login_at")  # fmt: skip
TOKEN_COLUMNS = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at",
                 "revoked_at")  # fmt: skip


def _password(password_stdin: bool) -> str:
    from vp_monitor.cli import read_password  # the one reader of piped passwords

    password = read_password(password_stdin)
    if password is None:
        fail(Message("password.stdin_required"))
    return password


def scope_options(function):
    """--role, --municipality, --maintainer and --language, for add and update."""
    options = [
        click.option("--role", type=click.Choice(ROLES), help="What the account may do."),
        click.option("--municipality", "municipalities", multiple=True, metavar="INSEE",
                     help="A municipality the account sees (municipality role; repeatable)."),
        click.option("--maintainer", metavar="COMPANY",
                     help="The maintainer company the account sees (maintainer role)."),
        click.option("--language", type=click.Choice(["fr", "en"]), help="Interface language."),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function


@click.group("user")
def user() -> None:
    """Accounts of the web service: people, with a role and what they may see."""


@user.command("add")
@click.argument("name")
@scope_options
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
def user_add(context: Context, name, role, municipalities, maintainer, language, password_stdin):
    """Add an account (its password piped with --password-stdin, 12 characters at least)."""
    if role is None:
        raise click.UsageError("Missing option '--role'.")
    data = AccountInput(
        name=name, role=role, municipalities=list(municipalities), maintainer=maintainer,
        language=language or context.settings.language,
    )  # fmt: skip
    password = _password(password_stdin)
    with context.registry() as registry:
        added = service.add_account(registry, data, password)
    role_label = context.texts.value("role", added.role)
    click.echo(context.texts("account.added", name=added.name, role=role_label))


@user.command("list")
@json_option
@pass_context
def user_list(context: Context, as_json) -> None:
    """List accounts (never their passwords)."""
    with context.registry() as registry:
        records = service.list_accounts(registry)
    if not records and not as_json:
        click.echo(context.texts("account.none"))
        return
    print_records(records, ACCOUNT_COLUMNS, as_json)


@user.command("update")
@click.argument("name")
@scope_options
@click.option("--enable/--disable", "enabled", default=None,
              help="Let the account sign in again, or stop it (its tokens too).")  # fmt: skip
@pass_context
def user_update(context: Context, name, role, municipalities, maintainer, language, enabled):
    """Change an account's role, scope, language or whether it may sign in (a new role drops
    the scope it does not take; give the one it needs)."""
    changes = AccountUpdate(
        role=role, municipalities=list(municipalities) or None, maintainer=maintainer,
        language=language, enabled=enabled,
    )  # fmt: skip
    with context.registry() as registry:
        updated = service.update_account(registry, name, changes)
    click.echo(context.texts("account.updated", name=updated.name))


@user.command("remove")
@click.argument("name")
@pass_context
def user_remove(context: Context, name) -> None:
    """Delete an account, its tokens and its sessions."""
    with context.registry() as registry:
        service.remove_account(registry, name)
    click.echo(context.texts("account.removed", name=name))


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
def user_password(context: Context, name, password_stdin) -> None:
    """Set an account's password (piped with --password-stdin); its web sessions end."""
    password = _password(password_stdin)
    with context.registry() as registry:
        changed = service.set_password(registry, name, password)
    click.echo(context.texts("account.password_set", name=changed.name))


@click.group("token")
def token() -> None:
    """API tokens for scripts (sent as `Authorization: Bearer TOKEN`)."""


@token.command("create")
@click.option("--user", "user_name", required=True, help="The account the token acts as.")
@click.option("--name", required=True, help="A label for the token, unique for the account.")
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="The day the token stops working (at 00:00, display time zone).")  # fmt: skip
@pass_context
def token_create(context: Context, user_name, name, expires) -> None:
    """Create a token; it is printed once, alone on the last line, and never again."""
    expires_on: date | None = expires.date() if expires else None
    data = TokenInput(user=user_name, name=name, expires_on=expires_on)
    with context.registry() as registry:
        created, raw = service.create_token(registry, data, timezone=context.settings.timezone)
        owner = created.account.name
    click.echo(context.texts("token.created", name=name, user=owner))
    click.echo(raw)


@token.command("list")
@click.option("--user", "user_name", help="Only this account's tokens.")
@json_option
@pass_context
def token_list(context: Context, user_name, as_json) -> None:
    """List tokens: their start, dates and state, never the tokens themselves."""
    with context.registry() as registry:
        records = service.list_tokens(registry, user_name)
    if not records and not as_json:
        click.echo(context.texts("token.none"))
        return
    print_records(records, TOKEN_COLUMNS, as_json)


@token.command("revoke")
@click.option("--user", "user_name", required=True, help="The account the token acts as.")
@click.option("--name", required=True, help="The token's label.")
@pass_context
def token_revoke(context: Context, user_name, name) -> None:
    """Stop a token from working, now."""
    with context.registry() as registry:
        revoked = service.revoke_token(registry, user_name, name)
        owner = revoked.account.name
    click.echo(context.texts("token.revoked", name=name, user=owner))
