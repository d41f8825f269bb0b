"""The one table of routes: path, method, who may call it, and the models it speaks.

Roles are checked here, for every route, before the handler runs (web/app.py); handlers never
check them. The OpenAPI document (web/openapi.py) and the isolation test that walks every
route read the same table, so a route added later is documented and tested without anyone
remembering to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from vp_monitor.accounts.principal import ROLES, SUPERVISION_ROLES

if TYPE_CHECKING:
    from vp_monitor.web.call import Call

Handler = Callable[["Call"], Awaitable[Any]]

PUBLIC: frozenset[str] = frozenset()  # no account needed
EVERYONE = frozenset(ROLES)  # any signed-in account, each within its scope
SUPERVISION = frozenset(SUPERVISION_ROLES)
TECHNICIANS = frozenset({"admin", "technician"})
OPERATORS = frozenset({"admin", "technician", "operator"})
ADMINS = frozenset({"admin"})


@dataclass(frozen=True)
class Route:
    """One operation of the API."""

    method: str
    path: str  # aiohttp form, `{name}` for a path parameter
    handler: Handler
    roles: frozenset[str]  # PUBLIC, or the roles that may call it
    summary: str  # one line, for the OpenAPI document
    query: type[BaseModel] | None = None  # validates the query string
    body: type[BaseModel] | None = None  # validates the JSON body
    response: Any = None  # a model (or type) the result is validated against; None: no body
    status: int = 200  # on success
    media_type: str = "application/json"  # of the success response (image/jpeg for frames)
    errors: tuple[int, ...] = ()  # statuses the operation answers besides the usual ones
    tags: tuple[str, ...] = ()
    stream: bool = False  # the handler writes its own response (server-sent events)
    cached: bool = False  # the answer reused for `web.read_cache_s` (web/cache.py)
    documented: bool = True  # in the OpenAPI document (pages and their files are not)
    extra: dict[str, Any] = field(default_factory=dict)  # OpenAPI fields (links)

    @property
    def operation_id(self) -> str:
        """A stable name: the handler's."""
        return self.handler.__name__

    @property
    def is_public(self) -> bool:
        return not self.roles

    def allows(self, role: str | None) -> bool:
        """Whether a caller with this role (None: not signed in) may call the route."""
        return self.is_public or (role is not None and role in self.roles)


def all_routes() -> list[Route]:
    """Every route of the API and the pages, in the order they are documented."""
    from vp_monitor.web import pages
    from vp_monitor.web.api import (
        accounts,
        docs,
        events,
        lists,
        monitoring,
        operations,
        registry,
        session,
        technician,
    )
    from vp_monitor.web.pages import accounts as accounts_page
    from vp_monitor.web.pages import forms
    from vp_monitor.web.pages import map as site_map

    return [*session.ROUTES, *lists.ROUTES, *registry.ROUTES, *monitoring.ROUTES,
            *technician.ROUTES, *events.ROUTES, *operations.ROUTES, *docs.ROUTES,
            *accounts.ROUTES, *pages.ROUTES, *site_map.ROUTES, *forms.ROUTES,
            *accounts_page.ROUTES]  # fmt: skip
