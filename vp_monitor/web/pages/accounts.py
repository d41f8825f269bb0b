"""The administrators' accounts page: users with their role, scope, language and last login,
and each one's API tokens; its forms post to the accounts API (web/api/accounts.py) with the
session's CSRF token, so that every write is the API's, validated and audited once."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vp_monitor.accounts import service
from vp_monitor.accounts.principal import ROLES
from vp_monitor.web.call import Call
from vp_monitor.web.pages.render import render
from vp_monitor.web.routes import ADMINS, Route


async def accounts_page(call: Call) -> web.Response:
    """Every account with its forms (change role and scope, reset the password, disable,
    remove), its tokens (revoke, create: the new token shown once), and the add form."""
    view = await call.in_registry(_accounts)
    return render(call.request, "accounts.html", roles=ROLES, **view)


def _accounts(registry: Any) -> dict[str, Any]:
    tokens: dict[str, list[dict[str, Any]]] = {}
    for token in service.list_tokens(registry):
        tokens.setdefault(token["user"], []).append(token)
    return {"users": service.list_accounts(registry), "tokens": tokens,
            **service.scope_choices(registry)}  # fmt: skip


ROUTES = [
    Route("GET", "/accounts", accounts_page, ADMINS, "Accounts page", media_type="text/html",
          documented=False),
]  # fmt: skip
