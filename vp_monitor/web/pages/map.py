"""The map of sites (Leaflet, with leaflet.markercluster): one marker per site that has
coordinates, marked by the worst state of its cameras (colour, icon and word), a popup with
its counts and a link to its cameras on the wall.

The data is the service layer's map (service/site_map.py), in the page for the first draw
and from `GET /api/v1/map` afterwards: the page's script asks again when the event stream
says a camera changed state (and when the stream reopens, for changes missed meanwhile).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from vp_monitor.service.lists import STATE_ORDER
from vp_monitor.service.site_map import SiteMap, site_map
from vp_monitor.web.call import Call
from vp_monitor.web.pages.render import render
from vp_monitor.web.pages.words import STATE_ICONS
from vp_monitor.web.routes import EVERYONE, Route

MAP_URL = "/api/v1/map"
WALL_OF_SITE = "/?site={id}"


def _site_map(registry: Any, scope: Any) -> dict[str, Any]:
    return SiteMap.model_validate(site_map(registry.session, scope)).model_dump(mode="json")


async def map_sites(call: Call) -> dict[str, Any]:
    """The sites of the caller's scope that have coordinates, with counts by state."""
    return await call.app.in_registry(_site_map, call.scope)


async def map_page(call: Call) -> web.Response:
    """The map page: the sites' data in an attribute of the map, drawn by static/map.js."""
    found = await call.app.in_registry(_site_map, call.scope)
    settings = call.app.settings.web
    setup = {
        "sites": found["sites"], "data_url": MAP_URL, "wall_url": WALL_OF_SITE,
        "states": list(STATE_ORDER), "icons": STATE_ICONS, "tile_url": settings.map_tile_url,
        "attribution": settings.map_tile_attribution,
    }  # fmt: skip
    return render(call.request, "map.html", site_map=found,
                  setup=json.dumps(setup, ensure_ascii=False))  # fmt: skip


ROUTES = [
    Route("GET", "/map", map_page, EVERYONE, "Map of sites page", media_type="text/html",
          documented=False),
    Route("GET", MAP_URL, map_sites, EVERYONE,
          "Sites of the caller's scope with coordinates, counts by state and worst state",
          response=SiteMap, tags=("lists",)),
]  # fmt: skip
