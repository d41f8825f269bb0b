"""The lists: cameras, incidents, sites, municipalities and contacts of the caller's scope,
filtered, sorted and paginated in SQL (service/lists.py, the CLI's lists too); the status
wall's counts and a camera's state history."""

from __future__ import annotations

from typing import Any

from vp_monitor.service import lists
from vp_monitor.service.list_models import (
    CameraListing,
    ContactListing,
    IncidentListing,
    MunicipalityListing,
    SiteListing,
    StateHistory,
    StatusSummary,
)
from vp_monitor.web.call import Call
from vp_monitor.web.routes import EVERYONE, Route

# A contact list shows recipients (masked for a municipality); a maintainer has none to see.
CONTACT_READERS = frozenset({"admin", "technician", "operator", "municipality"})


async def _listed(call: Call, list_function: Any) -> dict[str, Any]:
    """`list_function(session, scope, filters, page)` with the validated query as both."""
    return await call.app.in_registry(
        lambda registry: list_function(registry.session, call.scope, call.query, call.query)
    )


async def list_cameras(call: Call) -> dict[str, Any]:
    """Cameras of the caller's scope: worst first by default."""
    return await _listed(call, lists.list_cameras)


async def list_incidents(call: Call) -> dict[str, Any]:
    """Incidents of the caller's scope: newest first by default."""
    return await _listed(call, lists.list_incidents)


async def list_sites(call: Call) -> dict[str, Any]:
    """Sites of the caller's scope, with their cameras counted."""
    return await _listed(call, lists.list_sites)


async def list_municipalities(call: Call) -> dict[str, Any]:
    """Municipalities of the caller's scope, with their cameras counted."""
    return await _listed(call, lists.list_municipalities)


async def list_contacts(call: Call) -> dict[str, Any]:
    """Recipients of the caller's scope (secrets never shown)."""
    return await _listed(call, lists.list_contacts)


async def status_summary(call: Call) -> dict[str, Any]:
    """The status wall's counts: by state for the scope, each municipality and each site."""
    return await call.app.in_registry(
        lambda registry: lists.status_summary(registry.session, call.scope)
    )


async def camera_history(call: Call) -> dict[str, Any]:
    """A camera's state transitions over a window (default: the last day)."""
    query, code = call.query, call.path("code")
    return await call.app.in_registry(
        lambda registry: lists.state_history(
            registry.session, call.scope, code, query.start, query.end, query
        )
    )


TAGS = ("lists",)
ROUTES = [
    Route("GET", "/api/v1/cameras", list_cameras, EVERYONE,
          "Cameras of the caller's scope, filtered, sorted and paginated",
          query=lists.CameraQuery, response=CameraListing, tags=TAGS, cached=True),
    Route("GET", "/api/v1/status", status_summary, EVERYONE,
          "Counts by state for the scope, each municipality and each site",
          response=StatusSummary, tags=TAGS, cached=True),
    Route("GET", "/api/v1/incidents", list_incidents, EVERYONE,
          "Incidents of the caller's scope, filtered, sorted and paginated",
          query=lists.IncidentQuery, response=IncidentListing, tags=TAGS),
    Route("GET", "/api/v1/sites", list_sites, EVERYONE, "Sites of the caller's scope",
          query=lists.SiteQuery, response=SiteListing, tags=TAGS),
    Route("GET", "/api/v1/municipalities", list_municipalities, EVERYONE,
          "Municipalities of the caller's scope", query=lists.MunicipalityQuery,
          response=MunicipalityListing, tags=TAGS),
    Route("GET", "/api/v1/contacts", list_contacts, CONTACT_READERS,
          "Recipients of the caller's scope (addresses masked for a municipality)",
          query=lists.ContactQuery, response=ContactListing, tags=TAGS),
    Route("GET", "/api/v1/cameras/{code}/history", camera_history, EVERYONE,
          "A camera's state transitions over a window", query=lists.HistoryQuery,
          response=StateHistory, tags=TAGS),
]  # fmt: skip
