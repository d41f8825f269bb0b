"""The technicians' registry forms: import cameras from a CSV (or JSON) file, edit a camera's
registry record and its site's address, decommission it.

Pages only: their script (web/static/forms.js) sends what is typed to the registry API
(web/api/registry.py), which validates, writes and audits it; the pages show its answers.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vp_monitor.registry.models import CameraKind
from vp_monitor.registry.transfer import COLUMNS
from vp_monitor.service import registry as records
from vp_monitor.web.api.registry import CameraOut
from vp_monitor.web.call import Call
from vp_monitor.web.pages.render import render
from vp_monitor.web.routes import TECHNICIANS, Route

HTML = "text/html"
REQUIRED_COLUMNS = ("code", "site", "municipality")
IMPORT_URL = "/api/v1/cameras/import"
EXPORT_URL = "/api/v1/cameras/export"


async def import_cameras_page(call: Call) -> web.Response:
    """Import cameras: a file chosen or pasted, checked first (the API's dry run, its row
    errors in a table), then imported all or nothing."""
    return render(call.request, "import_cameras.html", columns=COLUMNS,
                  required=REQUIRED_COLUMNS, import_url=IMPORT_URL, export_url=EXPORT_URL,
                  limit_kb=call.app.settings.web.max_import_bytes // 1024)  # fmt: skip


async def edit_camera_page(call: Call) -> web.Response:
    """Edit a camera's registry fields (the password only replaced, never shown) and
    decommission it, through the registry API."""
    found = await call.app.in_registry(_editable, call.scope, call.path("code"))
    return render(call.request, "edit_camera.html", kinds=list(CameraKind), **found)


def _editable(registry: Any, scope: Any, code: str) -> dict[str, Any]:
    """The camera as the API answers it (no password, URLs without credentials), its site,
    and the municipalities and sites it may be moved to."""
    from vp_monitor.web.pages import _places

    camera = CameraOut.of(records.camera_view(registry, scope, code)).model_dump()
    site = records.site_view(registry, scope, camera["site_id"])
    return {"camera": camera, "site": site, **_places(registry)}


ROUTES = [
    Route("GET", "/import", import_cameras_page, TECHNICIANS, "Camera import page",
          media_type=HTML, documented=False),
    Route("GET", "/cameras/{code}/edit", edit_camera_page, TECHNICIANS, "Camera edit page",
          media_type=HTML, errors=(404,), documented=False),
]  # fmt: skip
