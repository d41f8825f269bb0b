"""The map of sites: each site of a scope that has coordinates, with how many of its cameras
are in each state and the worst of them.

Made of the lists' own queries (list_sites for places, status_summary for the counts,
list_municipalities for the names): nothing here is counted or filtered in SQL of its own.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from vp_monitor.service.lists import (
    STATE_ORDER,
    list_municipalities,
    list_sites,
    status_summary,
)
from vp_monitor.service.scope import Scope

NO_CAMERA_STATE = "unknown"  # a site without a watched camera: nothing is known of it


class MapSite(BaseModel):
    id: int
    name: str
    municipality: str  # INSEE
    municipality_name: str
    latitude: float
    longitude: float
    state: str  # the worst of its cameras' (STATE_ORDER)
    states: dict[str, int]  # cameras by state
    total: int  # watched cameras (decommissioned ones are not)


class SiteMap(BaseModel):
    sites: list[MapSite]
    without_coordinates: int  # sites of the scope the map cannot place


def worst_state(states: dict[str, int]) -> str:
    """The worst state any of these counts holds (STATE_ORDER, the wall's order)."""
    held = [state for state, count in states.items() if count and state in STATE_ORDER]
    return min(held, key=STATE_ORDER.__getitem__) if held else NO_CAMERA_STATE


def site_map(session: Session, scope: Scope) -> dict[str, Any]:
    """Every site of the scope with coordinates, its counts by state and its worst state."""
    counts = {site["site_id"]: site for site in status_summary(session, scope)["sites"]}
    towns = {town["insee"]: town["name"] for town in list_municipalities(session, scope)["items"]}
    placed, unplaced = [], 0
    for site in list_sites(session, scope)["items"]:
        if site["latitude"] is None or site["longitude"] is None:
            unplaced += 1
            continue
        found = counts.get(site["id"], {"states": {}, "total": 0})
        placed.append({
            "id": site["id"], "name": site["name"], "municipality": site["municipality"],
            "municipality_name": towns.get(site["municipality"], site["municipality"]),
            "latitude": site["latitude"], "longitude": site["longitude"],
            "state": worst_state(found["states"]), "states": found["states"],
            "total": found["total"],
        })  # fmt: skip
    return {"sites": placed, "without_coordinates": unplaced}
