"""The API describing itself: the OpenAPI document and a page to read it (Swagger UI, from
the npm package `swagger-ui-dist` that `make` installs into node_modules/: no CDN; its files
are served by the pages' `/static/{name}` route, from the asset table of web/assets.py)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from aiohttp import web

from vp_monitor.web.call import Call
from vp_monitor.web.routes import PUBLIC, Route

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vp-monitor API</title>
<link rel="stylesheet" href="/static/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="/static/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
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


ROUTES = [
    Route("GET", "/api/v1/openapi.json", openapi, PUBLIC, "The OpenAPI 3.1 document",
          response=dict[str, Any], tags=("documentation",)),
    Route("GET", "/api/v1/docs", api_docs, PUBLIC, "The API documentation page",
          media_type="text/html", documented=False),
]  # fmt: skip
