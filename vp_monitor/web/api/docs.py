"""The API describing itself: the OpenAPI document and a page to read it (Swagger UI, from
the npm package `swagger-ui-dist` that `make` installs into node_modules/: no CDN)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from aiohttp import web

from vp_monitor.web.call import Call
from vp_monitor.web.errors import ApiError
from vp_monitor.web.routes import PUBLIC, Route

PROJECT = Path(__file__).resolve().parents[3]
SWAGGER_UI = PROJECT / "node_modules" / "swagger-ui-dist"
STATIC = Path(__file__).resolve().parents[1] / "static"
# The files the page needs, by the name it asks for: nothing from the request reaches the disk.
ASSETS = {
    "swagger-ui.css": (SWAGGER_UI / "swagger-ui.css", "text/css"),
    "swagger-ui-bundle.js": (SWAGGER_UI / "swagger-ui-bundle.js", "text/javascript"),
    "docs.js": (STATIC / "docs.js", "text/javascript"),
}
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vp-monitor API</title>
<link rel="stylesheet" href="/api/v1/docs/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="/api/v1/docs/swagger-ui-bundle.js"></script>
<script src="/api/v1/docs/docs.js"></script>
</body>
</html>
"""


async def openapi(call: Call) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route."""
    from vp_monitor.web.keys import ROUTES
    from vp_monitor.web.openapi import openapi_document

    return openapi_document(call.request.app[ROUTES], version("vp-monitor"))


async def api_docs(call: Call) -> web.Response:
    """The documentation page."""
    return web.Response(text=PAGE, content_type="text/html")


async def api_docs_asset(call: Call) -> web.Response:
    """One file of the documentation page, by name."""
    found = ASSETS.get(call.path("asset"))
    if found is None or not found[0].is_file():
        raise ApiError(404, "web.no_route", path=call.request.path[:200])
    path, content_type = found
    return web.Response(body=path.read_bytes(), content_type=content_type,
                        headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip


ROUTES = [
    Route("GET", "/api/v1/openapi.json", openapi, PUBLIC, "The OpenAPI 3.1 document",
          response=dict[str, Any], tags=("documentation",)),
    Route("GET", "/api/v1/docs", api_docs, PUBLIC, "The API documentation page",
          media_type="text/html", documented=False),
    Route("GET", "/api/v1/docs/{asset}", api_docs_asset, PUBLIC,
          "A file of the documentation page (stylesheet, scripts)", documented=False),
]  # fmt: skip
