"""The list routes: the service layer's lists over HTTP, with the caller's scope."""

from __future__ import annotations

import pytest
from two_towns import WEBHOOK_SECRET

pytestmark = pytest.mark.timeout(60)


async def get(api, url: str, caller: str):
    response = await api.get(url, headers={"X-Test-As": caller})
    return response.status, await response.json()


async def test_camera_list_filters_pages_and_scope(api):
    """state=down as the operator: both towns' down cameras, worst first, with a total; a
    page of one with the next offset; a municipality only its own, totals included."""
    status, body = await get(api, "/api/v1/cameras?state=down", "operator")
    assert status == 200 and [c["code"] for c in body["items"]] == ["BB-001", "VE-001"]
    assert body["total"] == 2 and body["items"][0]["conditions"] == ["no_video"]
    status, body = await get(api, "/api/v1/cameras?limit=1&offset=1&sort=code", "operator")
    assert [c["code"] for c in body["items"]] == ["BB-002"] and body["total"] == 4
    status, body = await get(api, "/api/v1/cameras?state=down&state=ok", "boulogne")
    assert [c["code"] for c in body["items"]] == ["BB-001", "BB-002"] and body["total"] == 2
    status, body = await get(api, "/api/v1/cameras?municipality=78646", "boulogne")
    assert body["items"] == [] and body["total"] == 0
    status, body = await get(api, "/api/v1/cameras?limit=501", "operator")
    assert status == 422 and body["field"] == "limit"


async def test_status_summary_incidents_sites_and_towns_are_scoped(api):
    """Counts per state for the scope and each site; incidents, sites and municipalities of
    the caller's scope only."""
    status, body = await get(api, "/api/v1/status", "operator")
    assert status == 200 and body["fleet"]["total"] == 4
    assert body["fleet"]["states"]["down"] == 2
    status, body = await get(api, "/api/v1/status", "versailles")
    assert body["fleet"]["total"] == 2 and [m["municipality"] for m in body["municipalities"]] \
        == ["78646"]  # fmt: skip
    status, body = await get(api, "/api/v1/incidents?severity=critical", "boulogne")
    assert [i["camera"] for i in body["items"]] == ["BB-001"] and body["total"] == 1
    status, body = await get(api, "/api/v1/sites", "acme")
    assert [s["name"] for s in body["items"]] == ["Mairie de Boulogne"]
    status, body = await get(api, "/api/v1/municipalities", "operator")
    assert body["total"] == 2


async def test_contacts_masked_for_a_municipality_and_refused_to_a_maintainer(api):
    """The supervision centre reads recipients (secrets never); a municipality its own, the
    address masked; a maintainer none."""
    status, body = await get(api, "/api/v1/contacts", "operator")
    assert status == 200 and body["total"] == 2
    assert WEBHOOK_SECRET not in str(body)
    status, body = await get(api, "/api/v1/contacts", "boulogne")
    [contact] = body["items"]
    assert contact["name"] == "Police municipale Boulogne"
    assert contact["address"].startswith("https://hooks.example.org") and "key=" not in str(
        contact["address"]).replace("key=********", "")  # fmt: skip
    assert (await api.get("/api/v1/contacts", headers={"X-Test-As": "acme"})).status == 403


async def test_camera_history_over_a_window(api):
    """A camera's transitions in a window; another town's camera is not found."""
    status, body = await get(
        api, "/api/v1/cameras/BB-001/history?from=2026-11-23T09:00:00Z&to=2026-11-23T12:00:00Z",
        "boulogne",
    )  # fmt: skip
    assert status == 200 and [t["state"] for t in body["items"]] == ["down"]
    status, body = await get(api, "/api/v1/cameras/VE-001/history", "boulogne")
    assert status == 404
    status, body = await get(
        api, "/api/v1/cameras/BB-001/history?from=2026-11-23T12:00:00Z&to=2026-11-23T09:00:00Z",
        "boulogne",
    )  # fmt: skip
    assert status == 422
