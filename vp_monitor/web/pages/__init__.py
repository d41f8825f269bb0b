"""The dashboard's pages: server-rendered HTML in the same route table as the API, so the
roles of every page are checked where the API's are (web/app.py), and the data they show
comes from the same service-layer functions.

Live parts (tile states, incident actions, the camera timeline) are small scripts under
web/static talking to the API and its event stream.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vp_monitor.conditions import SEVERITIES
from vp_monitor.redaction import MASK, is_secret_field, redact_url
from vp_monitor.service import views
from vp_monitor.web.assets import ASSETS
from vp_monitor.web.call import Call
from vp_monitor.web.pages.render import render
from vp_monitor.web.pages.wall import WallQuery, wall_view
from vp_monitor.web.routes import EVERYONE, OPERATORS, PUBLIC, TECHNICIANS, Route

HTML = "text/html"
# Who may act on an incident from its page (the API's routes must allow the same roles).
ACKNOWLEDGE_ROLES = EVERYONE  # a municipality acknowledges its own incidents
RESOLVE_ROLES = OPERATORS
STATUS_ORDER = {"open": 0, "acknowledged": 1, "resolved": 2}
SEVERITY_ORDER = {name: rank for rank, name in enumerate(SEVERITIES)}
RECENT_INCIDENTS = 10
EMPTY = (None, "", [], {})


# -- sign-in -----------------------------------------------------------------------------------
class LoginQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    next: str = Field("/", max_length=2000)

    @field_validator("next")
    @classmethod
    def _local(cls, value: str) -> str:
        # Only a path of this site: no open redirect to another one after sign-in.
        # Browsers read "/\\host" as "//host": another site too.
        return value if value.startswith("/") and not value.startswith(("//", "/\\")) else "/"


async def login_page(call: Call) -> web.Response:
    """The sign-in form; its script posts to the accounts API and then opens `next`."""
    return render(call.request, "login.html", next=call.query.next)


# -- status wall -------------------------------------------------------------------------------
async def status_wall_page(call: Call) -> web.Response:
    """The status wall, or with ?kiosk=1 the wall screen cycling through problem sites."""
    view = await call.app.in_registry(wall_view, call.scope, call.query)
    return render(call.request, "wall.html", **view)


# -- incidents ---------------------------------------------------------------------------------
class IncidentsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    history: bool = False  # resolved ones too
    severity: Literal["critical", "major", "minor"] | None = None
    camera: str | None = Field(None, max_length=40)

    @field_validator("severity", "camera", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


async def incidents_page(call: Call) -> web.Response:
    """Incidents, open first then by severity and age; resolved ones with ?history=1."""
    query = call.query
    found = await call.app.in_registry(_incidents, call.scope, query.history)
    if query.severity:
        found = [item for item in found if item["severity"] == query.severity]
    if query.camera:
        found = [item for item in found if (item["camera"] or "").lower() == query.camera.lower()]
    return render(call.request, "incidents.html", incidents=found, query=query,
                  severities=SEVERITIES, now=datetime.now(UTC))  # fmt: skip


def _incidents(registry: Any, scope: Any, include_resolved: bool) -> list[dict[str, Any]]:
    found = views.incidents(registry.session, scope, include_resolved=include_resolved)
    return sorted(found, key=_incident_order)


def _incident_order(item: dict[str, Any]) -> tuple:
    opened = item["opened_at"].timestamp() if item["opened_at"] else 0
    return (STATUS_ORDER.get(item["status"], 3), SEVERITY_ORDER.get(item["severity"], 3), -opened)


async def incident_page(call: Call) -> web.Response:
    """One incident: evidence beside the reference, conditions and metrics in words, who was
    told and when, the cameras of a site incident, and its actions."""
    incident = await call.app.in_registry(_incident, call.scope, call.path("incident_id"))
    role, status = call.principal.role, incident["status"]
    return render(call.request, "incident.html", incident=incident, now=datetime.now(UTC),
                  may_acknowledge=role in ACKNOWLEDGE_ROLES and status == "open",
                  may_resolve=role in RESOLVE_ROLES and status != "resolved")  # fmt: skip


def _incident(registry: Any, scope: Any, incident_id: str) -> dict[str, Any]:
    record = views.incident_detail(registry.session, scope, incident_id)
    record.pop("evidence_jpeg", None)  # served by the image route, not in the page
    record["children"] = [
        item for item in views.incidents(registry.session, scope, include_resolved=True)
        if item["parent_id"] == record["id"]
    ]  # fmt: skip
    return record


# -- camera ------------------------------------------------------------------------------------
async def camera_page(call: Call) -> web.Response:
    """One camera: latest frame and references, findings in words, timeline and availability
    (from the API), recent incidents, registry record without credentials, maintenance
    windows, audit trail."""
    camera = await call.app.in_registry(_camera, call.scope, call.path("code"))
    role = call.principal.role
    return render(call.request, "camera.html", camera=camera, now=datetime.now(UTC),
                  periods=("24h", "7d", "30d"), may_approve=role in TECHNICIANS,
                  may_plan=role in OPERATORS, may_edit=role in TECHNICIANS)  # fmt: skip


REGISTRY_SHOWN = (
    "code", "name", "kind", "site", "municipality", "maintainer", "lifecycle", "onvif_host",
    "onvif_port", "username", "rtsp_main", "rtsp_sub", "manufacturer", "model", "serial",
    "firmware", "expected_codec", "expected_width", "expected_height", "expected_fps",
    "installed_on", "authorisation_number", "authorisation_expires", "tags", "notes",
)  # fmt: skip


def _camera(registry: Any, scope: Any, code: str) -> dict[str, Any]:
    session = registry.session
    detail = views.camera_detail(session, scope, code)
    code = detail["code"]
    recent = views.incidents(session, scope, include_resolved=True, limit=RECENT_INCIDENTS,
                             camera=code)  # fmt: skip
    windows = [window for window in views.maintenance_windows(session, scope)
               if _window_covers(window, detail)]  # fmt: skip
    audit = [{"at": entry.at, "actor": entry.actor, "action": entry.action,
              "changes": _changes(entry.before, entry.after)}
             for entry in registry.history("camera", code)]  # fmt: skip
    return {
        **detail,
        "registry": {name: shown(name, detail.get(name)) for name in REGISTRY_SHOWN},
        "has_password": detail.get("password") is not None,
        "recent_incidents": recent,
        "maintenance": windows,
        "audit": audit[::-1],  # newest first
    }


def _window_covers(window: dict[str, Any], camera: dict[str, Any]) -> bool:
    if window["camera"] is not None:
        return window["camera"] == camera["code"]
    if window["insee"] != camera["municipality"]:
        return False
    return window["scope"] == "municipality" or window["site"] == camera["site"]


def shown(name: str, value: Any) -> Any:
    """A registry value as a page may show it: secrets masked, URLs without credentials."""
    if value is None:
        return None
    if is_secret_field(name):
        return MASK
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    if isinstance(value, dict):
        return {key: shown(key, item) for key, item in value.items()}
    return value


def _changes(before: dict | None, after: dict | None) -> list[tuple[str, Any, Any]]:
    """The fields an audit entry changed, each (name, before, after), secrets masked."""
    before, after = before or {}, after or {}
    return [(name, shown(name, before.get(name)), shown(name, after.get(name)))
            for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)
            and not (before.get(name) in EMPTY and after.get(name) in EMPTY)]  # fmt: skip


# -- technicians -------------------------------------------------------------------------------
async def new_camera_page(call: Call) -> web.Response:
    """Add a camera: test it first (ONVIF address and credentials, or RTSP URL), see what it
    answered and the frame it gave, then save it; both steps through the technician API."""
    places = await call.app.in_registry(_places)
    return render(call.request, "new_camera.html", **places)


def _places(registry: Any) -> dict[str, Any]:
    """The municipalities and sites a camera may be put in (technicians see every one)."""
    return {
        "municipalities": [(m.insee, m.name) for m in registry.municipalities()],
        "sites": sorted({site.name for site in registry.sites()}),
    }


# -- static files ------------------------------------------------------------------------------
async def static_asset(call: Call) -> web.Response:
    """A script or style sheet of the pages or of a front-end library, by name (the table of
    web/assets.py: nothing else is served)."""
    found = ASSETS.get(call.path("name"))
    if found is None:
        return web.Response(status=404, text="not found", content_type="text/plain")
    headers = {"Cache-Control": "no-cache", "ETag": found.etag}
    if call.request.headers.get("If-None-Match") == found.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=found.body, content_type=found.media_type, headers=headers)


ROUTES = [
    Route("GET", "/login", login_page, PUBLIC, "Sign-in page", query=LoginQuery,
          media_type=HTML, documented=False),
    Route("GET", "/", status_wall_page, EVERYONE, "Status wall page", query=WallQuery,
          media_type=HTML, documented=False),
    Route("GET", "/incidents", incidents_page, EVERYONE, "Incidents page",
          query=IncidentsQuery, media_type=HTML, documented=False),
    Route("GET", "/incidents/{incident_id}", incident_page, EVERYONE, "Incident page",
          media_type=HTML, errors=(404,), documented=False),
    Route("GET", "/new-camera", new_camera_page, TECHNICIANS, "Add-a-camera page",
          media_type=HTML, documented=False),
    Route("GET", "/cameras/{code}", camera_page, EVERYONE, "Camera page",
          media_type=HTML, errors=(404,), documented=False),
    Route("GET", "/static/{name}", static_asset, PUBLIC,
          "Scripts and style sheets of the pages and of their libraries",
          media_type="application/octet-stream", errors=(404,), documented=False),
]  # fmt: skip
