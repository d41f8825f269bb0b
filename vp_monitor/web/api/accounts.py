"""Accounts over HTTP, for administrators: users (list, get, create, update, remove, set a
password) and API tokens (list, create, revoke).

Each route calls the one service function the command line calls (`vp-monitor user …`,
`token …`) with the same schemas, so validation and audit entries are the CLI's, under the
caller's name. A password is only ever received in a body, never answered; a token is answered
once, by the call that creates it, and never again (lists show its prefix).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vp_monitor.accounts import service
from vp_monitor.accounts.schemas import AccountUpdate, NewAccount, PasswordInput, TokenInput
from vp_monitor.web.call import Call
from vp_monitor.web.routes import ADMINS, Route

# A token's label may hold a '/': the revoke route's last segment is fixed, so it still parses.
TOKEN = "{token:.+}"


class UserOut(BaseModel):
    """An account as the API shows it: never its password or hash."""

    name: str
    role: str
    municipalities: list[str]  # INSEE codes (municipality role)
    maintainer: str | None  # company (maintainer role)
    language: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


class TokenOut(BaseModel):
    """An API token as lists show it: its prefix, never the token or its digest."""

    user: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    """A new token: `token` is answered here only, once; store it now."""

    token: str


class TokenQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, min_length=1, max_length=64, description="Only its tokens.")


# -- users -------------------------------------------------------------------------------------
def _user(registry: Any, name: str) -> dict[str, Any]:
    return service.account_record(service.account(registry, name))


def _create_user(registry: Any, data: NewAccount) -> dict[str, Any]:
    return service.account_record(service.add_account(registry, data, data.password))


def _update_user(registry: Any, name: str, changes: AccountUpdate) -> dict[str, Any]:
    return service.account_record(service.update_account(registry, name, changes))


async def list_users(call: Call) -> Any:
    return await call.in_registry(service.list_accounts)


async def get_user(call: Call) -> Any:
    return await call.in_registry(_user, call.path("user"))


async def create_user(call: Call) -> Any:
    """`user add` over HTTP: the password in the body, 12 characters at least."""
    return await call.in_registry(_create_user, call.body)


async def update_user(call: Call) -> Any:
    """`user update` over HTTP: the fields given change, the others stay."""
    return await call.in_registry(_update_user, call.path("user"), call.body)


async def delete_user(call: Call) -> None:
    await call.in_registry(service.remove_account, call.path("user"))


async def set_user_password(call: Call) -> None:
    """`user password` over HTTP: the account's web sessions end, its tokens stay."""
    await call.in_registry(service.set_password, call.path("user"), call.body.password)


# -- tokens ------------------------------------------------------------------------------------
def _create_token(registry: Any, data: TokenInput, timezone: str) -> dict[str, Any]:
    token, raw = service.create_token(registry, data, timezone=timezone)
    return {**service.token_record(token), "token": raw}


def _revoke_token(registry: Any, user: str, name: str) -> dict[str, Any]:
    return service.token_record(service.revoke_token(registry, user, name))


async def list_tokens(call: Call) -> Any:
    return await call.in_registry(service.list_tokens, call.query.user)


async def create_token(call: Call) -> Any:
    """`token create` over HTTP: `expires_on` is a day in the display time zone."""
    return await call.in_registry(_create_token, call.body, call.app.settings.timezone)


async def revoke_token(call: Call) -> Any:
    return await call.in_registry(_revoke_token, call.path("user"), call.path("token"))


USER_LINKS = {
    operation: {"operationId": operation, "parameters": {"user": "$response.body#/name"}}
    for operation in ("get_user", "update_user", "set_user_password", "delete_user")
}
TOKEN_LINKS = {
    "revoke_token": {
        "operationId": "revoke_token",
        "parameters": {"user": "$response.body#/user", "token": "$response.body#/name"},
    }
}
TAGS = ("accounts",)
ROUTES = [
    Route("GET", "/api/v1/users", list_users, ADMINS, "Every account, by name (no password)",
          response=list[UserOut], tags=TAGS),
    Route("GET", "/api/v1/users/{user}", get_user, ADMINS, "One account", response=UserOut,
          tags=TAGS),
    Route("POST", "/api/v1/users", create_user, ADMINS,
          "Add an account with its role, scope and first password", body=NewAccount,
          response=UserOut, status=201, errors=(409,), tags=TAGS, extra={"links": USER_LINKS}),
    Route("PATCH", "/api/v1/users/{user}", update_user, ADMINS,
          "Change an account's role, scope, language or whether it may sign in",
          body=AccountUpdate, response=UserOut, errors=(409,), tags=TAGS),
    Route("DELETE", "/api/v1/users/{user}", delete_user, ADMINS,
          "Delete an account with its tokens and sessions (never the last administrator)",
          status=204, errors=(409,), tags=TAGS),
    Route("PUT", "/api/v1/users/{user}/password", set_user_password, ADMINS,
          "Set an account's password; its web sessions end", body=PasswordInput, status=204,
          tags=TAGS),
    Route("GET", "/api/v1/tokens", list_tokens, ADMINS,
          "API tokens (of one account, or all): their prefix and dates, never the token",
          query=TokenQuery, response=list[TokenOut], errors=(404,), tags=TAGS),
    Route("POST", "/api/v1/tokens", create_token, ADMINS,
          "Create an API token: answered once, here, and never again", body=TokenInput,
          response=TokenCreated, status=201, errors=(409,), tags=TAGS,
          extra={"links": TOKEN_LINKS}),
    Route("POST", f"/api/v1/tokens/{{user}}/{TOKEN}/revoke", revoke_token, ADMINS,
          "Stop an API token from working, now", response=TokenOut, tags=TAGS),
]  # fmt: skip
