"""The status wall: counts by state, then the cameras as tiles, worst first, filtered and paged.

The records are the service layer's status wall (views.status_wall, the same one the API and
the command line show); this module only chooses which of them a page shows.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vp_monitor.conditions import CONDITIONS, StateName
from vp_monitor.service.views import STATE_ORDER

ConditionName = Literal[tuple(CONDITIONS)]  # type: ignore[valid-type]
PAGE_SIZE = 200  # tiles per page: 10,000 cameras are 50 pages, not one huge document
KIOSK_LIMIT = 500  # problem cameras a wall screen cycles through at most (a lists page)
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
    """What the wall page shows: counts of the scope, filter choices, the page of tiles
    (the lists' queries: filtered, sorted worst first and paged in SQL)."""
    from vp_monitor.service.lists import CameraFilters, Page, list_cameras, status_summary

    summary = status_summary(registry.session, scope)
    states = query.state or list(WALL_STATES)
    if query.kiosk:
        states = [state for state in states if state != "ok"]
    filters = CameraFilters(state=states, municipality=query.municipality, site=query.site,
                            condition=query.condition, q=query.q)  # fmt: skip
    page = Page(limit=KIOSK_LIMIT) if query.kiosk else Page(limit=query.limit,
                                                             offset=query.offset)  # fmt: skip
    found = list_cameras(registry.session, scope, filters, page)
    shown = [{**item, "camera": item["code"]} for item in found["items"]]
    offset, total = page.offset, found["total"]
    kept = query.model_dump(exclude={"offset", "kiosk"}, exclude_none=True)
    if query.limit == PAGE_SIZE:
        del kept["limit"]
    towns = summary["municipalities"]
    return {
        "query": query,
        "counts": {
            "fleet": summary["fleet"]["states"],
            "total": summary["fleet"]["total"],
            "municipalities": {town["municipality"]: town["states"] for town in towns},
            "sites": {(s["municipality"], s["site"]): s["states"] for s in summary["sites"]},
        },  # fmt: skip
        "towns": {town["municipality"]: town["name"] for town in towns},
        "cameras": shown,
        "total": total,
        "first": offset + 1 if shown else 0,
        "last": offset + len(shown),
        "previous_url": _page_url(kept, offset - query.limit) if offset > 0 else None,
        "next_url": _page_url(kept, offset + query.limit) if offset + query.limit < total else None,
        "kiosk_url": _page_url({**kept, "kiosk": "1"}, 0),
        "municipalities": sorted(town["municipality"] for town in towns),
        "sites": sorted(
            (
                (s["site_id"], s["site"])
                for s in summary["sites"]
                if query.municipality in (None, s["municipality"])
            ),
            key=lambda site: (site[1], site[0]),
        ),  # fmt: skip
        "states": WALL_STATES,
        "conditions": list(CONDITIONS),
    }


def _page_url(filters: dict[str, Any], offset: int) -> str:
    pairs = [(key, item) for key, value in filters.items()
             for item in (value if isinstance(value, list) else [value])]  # fmt: skip
    if offset > 0:
        pairs.append(("offset", offset))
    return "/?" + urlencode(pairs) if pairs else "/"
