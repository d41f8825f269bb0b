"""The status wall: counts by state, then the cameras as tiles, worst first, filtered and paged.

The records are the service layer's status wall (views.status_wall, the same one the API and
the command line show); this module only chooses which of them a page shows.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vp_monitor.conditions import CONDITIONS, StateName
from vp_monitor.service import views
from vp_monitor.service.views import STATE_ORDER

ConditionName = Literal[tuple(CONDITIONS)]  # type: ignore[valid-type]
PAGE_SIZE = 200  # tiles per page: 10,000 cameras are 50 pages, not one huge document
KIOSK_LIMIT = 1000  # problem cameras a wall screen cycles through at most
WALL_STATES = tuple(STATE_ORDER)  # worst first


class WallQuery(BaseModel):
    """The wall's filters and page, from its address (an empty field is no filter)."""

    model_config = ConfigDict(extra="forbid")

    municipality: str | None = Field(None, max_length=5)  # INSEE code
    site: int | None = Field(None, ge=1)  # site id
    state: list[StateName] | None = None
    condition: ConditionName | None = None
    q: str | None = Field(None, max_length=120)  # in code, name or site
    offset: int = Field(0, ge=0)
    limit: int = Field(PAGE_SIZE, ge=1, le=1000)
    kiosk: bool = False

    @field_validator("municipality", "site", "condition", "q", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("state", mode="before")
    @classmethod
    def _empty_states(cls, value: Any) -> Any:
        if isinstance(value, list):
            value = [item for item in value if item != ""]
        return value or None


def wall_view(registry: Any, scope: Any, query: WallQuery) -> dict[str, Any]:
    """What the wall page shows: counts of the scope, filter choices, the page of tiles."""
    wall = views.status_wall(registry.session, scope)
    shown_towns = {row["municipality"] for row in wall.counts}
    towns = {m.insee: m.name for m in registry.municipalities() if m.insee in shown_towns}
    counts = _counts(wall.counts)
    chosen = [camera for camera in wall.cameras if _matches(camera, query)]
    if query.kiosk:
        chosen = [camera for camera in chosen if camera["state"] != "ok"][:KIOSK_LIMIT]
        shown, offset = chosen, 0
    else:
        offset = min(query.offset, max(0, len(chosen) - 1))
        shown = chosen[offset : offset + query.limit]
    filters = query.model_dump(exclude={"offset", "kiosk"}, exclude_none=True)
    if query.limit == PAGE_SIZE:
        del filters["limit"]
    return {
        "query": query,
        "counts": counts,
        "towns": towns,  # names of the scope's municipalities only
        "cameras": shown,
        "total": len(chosen),
        "first": offset + 1 if shown else 0,
        "last": offset + len(shown),
        "previous_url": _page_url(filters, offset - query.limit) if offset > 0 else None,
        "next_url": _page_url(filters, offset + query.limit)
        if offset + query.limit < len(chosen)
        else None,
        "kiosk_url": _page_url({**filters, "kiosk": "1"}, 0),
        "municipalities": sorted(counts["municipalities"]),
        "sites": _sites(wall.cameras, query.municipality),
        "states": WALL_STATES,
        "conditions": list(CONDITIONS),
    }


def _matches(camera: dict[str, Any], query: WallQuery) -> bool:
    if query.municipality and camera["municipality"] != query.municipality:
        return False
    if query.site and camera["site_id"] != query.site:
        return False
    if query.state and camera["state"] not in query.state:
        return False
    if query.condition and query.condition not in camera["conditions"]:
        return False
    if query.q:
        text = query.q.casefold()
        return any(text in str(camera.get(key) or "").casefold()
                   for key in ("camera", "name", "site"))  # fmt: skip
    return True


def _sites(cameras: list[dict[str, Any]], municipality: str | None) -> list[tuple[int, str]]:
    """The sites to choose from (id, name), by name: those of the chosen municipality."""
    found = {
        (c["site_id"], c["site"]) for c in cameras if municipality in (None, c["municipality"])
    }
    return sorted(found, key=lambda site: (site[1], site[0]))


def _counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by state for the whole scope, each municipality and each site."""
    fleet: Counter[str] = Counter()
    towns: dict[str, Counter[str]] = {}
    sites: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        fleet[row["state"]] += row["count"]
        towns.setdefault(row["municipality"], Counter())[row["state"]] += row["count"]
        sites.setdefault((row["municipality"], row["site"]), Counter())[row["state"]] += row[
            "count"
        ]
    return {"fleet": fleet, "total": sum(fleet.values()), "municipalities": towns, "sites": sites}


def _page_url(filters: dict[str, Any], offset: int) -> str:
    pairs = [(key, item) for key, value in filters.items()
             for item in (value if isinstance(value, list) else [value])]  # fmt: skip
    if offset > 0:
        pairs.append(("offset", offset))
    return "/?" + urlencode(pairs) if pairs else "/"
