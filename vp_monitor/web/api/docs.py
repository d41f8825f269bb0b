"""The API describing itself: the OpenAPI document and a page to read it."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from vp_monitor.web.call import Call
from vp_monitor.web.routes import PUBLIC, Route


async def openapi(call: Call) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route."""
    from vp_monitor.web.app import ROUTES
    from vp_monitor.web.openapi import openapi_document

    return openapi_document(call.request.app[ROUTES], version("vp-monitor"))


ROUTES = [
    Route("GET", "/api/v1/openapi.json", openapi, PUBLIC, "The OpenAPI 3.1 document",
          response=dict[str, Any], tags=("documentation",)),
]  # fmt: skip
