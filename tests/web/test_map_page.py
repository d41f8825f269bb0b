"""The map of sites, the not-found page and the asset route, in Debian's chromium (Playwright)
against the web application on a loopback socket over the two towns' data, their sites
placed on the map here (tests/web/two_towns.py has no coordinates)."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_pages import browser  # skips this module too when chromium is missing
from two_towns import TWO_TOWNS, header_principal

from vp_monitor.registry.schemas import SiteInput
from vp_monitor.web.app import create_app

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
PLACES = {"Mairie de Boulogne": (48.8356, 2.2399), "Château de Versailles": (48.8049, 2.1204)}
CROWD = 60  # sites close together: more than a screen of markers, grouped into clusters
CLOSED_PORT = "127.0.0.1:9"  # a tile server that answers nothing (the discard port, closed)


@pytest.fixture
def placed(vp_app):
    """The two towns' sites with coordinates."""
    with vp_app.registry(actor="fixture") as registry:
        for town in TWO_TOWNS.values():
            for site in town["sites"]:
                latitude, longitude = PLACES[site]
                registry.update_site(site, town["insee"], latitude=latitude, longitude=longitude)
    return vp_app


async def markers(b) -> dict[str, str]:
    """The map's markers as Leaflet holds them, clustered or not: site name -> state."""
    return await b.page.evaluate(
        "Object.fromEntries(Array.from(vp.siteMap.markers.values(),"
        " m => [m.options.site.name, m.options.site.state]))"
    )


async def test_map_shows_one_marker_per_site_with_its_worst_state_in_words(placed, api):
    """No tile server: the markers on a blank background, fitted to them, each in its state's
    word and icon; the popup holds the counts and the link to the site's cameras on the wall;
    axe-core finds no serious violation; nothing breaks the CSP."""
    async with browser(api, "operator") as b:
        response = await b.open("/map")
        assert response.status == 200
        assert "img-src 'self' data: blob:;" in response.headers["content-security-policy"]
        await b.page.locator(".site-marker").first.wait_for()
        assert await markers(b) == {"Mairie de Boulogne": "down", "Château de Versailles": "down"}
        shown = b.page.locator(".leaflet-marker-icon .site-marker")
        assert await shown.count() == 2  # both in view: bounds fitted, not clustered
        assert await shown.locator(".state-label").all_inner_texts() == ["hors service"] * 2
        assert await shown.locator(".icon").all_inner_texts() == ["✖"] * 2  # not colour alone
        assert await b.page.locator(".leaflet-tile").count() == 0  # no tile layer
        await b.page.locator(".leaflet-marker-icon", has_text="Mairie de Boulogne").click()
        popup = b.page.locator(".site-popup")
        assert "Boulogne-Billancourt" in await popup.inner_text()
        assert re.search(r"hors service : 1\s+✔ en service : 1", await popup.inner_text())
        site_id = await b.page.evaluate(
            "Array.from(vp.siteMap.markers.values()).map(m => m.options.site)"
            ".find(site => site.name === 'Mairie de Boulogne').id"
        )
        assert await popup.locator("a").get_attribute("href") == f"/?site={site_id}"
        await b.shot("map")
        axe = pytest.importorskip("axe_playwright_python.async_playwright").Axe()
        results = await axe.run(b.page)
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]  # fmt: skip
        assert bad == []
        await popup.locator("a").click()
        await b.page.wait_for_url(f"**/?site={site_id}")
        assert await b.tiles() == ["BB-001", "BB-002"]
        assert await b.csp_violations() == []


async def test_a_municipality_sees_only_its_own_sites(placed, api):
    """Boulogne's map holds Boulogne's site only, in the page and in the API."""
    async with browser(api, "boulogne") as b:
        await b.open("/map")
        await b.page.locator(".site-marker").first.wait_for()
        assert await markers(b) == {"Mairie de Boulogne": "down"}
        html = await b.page.content()
        assert "Château de Versailles" not in html and "Versailles" not in html
    answer = await api.get("/api/v1/map", headers={"X-Test-As": "boulogne"})
    assert [site["name"] for site in (await answer.json())["sites"]] == ["Mairie de Boulogne"]


async def test_many_sites_are_clustered_and_a_site_without_coordinates_is_counted(placed, api):
    """Sixty sites a few hundred metres apart are grouped: clusters show how many sites they
    hold and the worst state among them; a site without coordinates is said, not placed."""
    with placed.registry(actor="fixture") as registry:
        for number in range(CROWD):
            registry.add_site(SiteInput(
                name=f"Square {number:02d}", municipality="92012",
                latitude=48.80 + (number % 10) * 0.004, longitude=2.20 + (number // 10) * 0.004,
            ))  # fmt: skip
        registry.add_site(SiteInput(name="Entrepôt sans adresse", municipality="92012"))
    async with browser(api, "operator") as b:
        await b.open("/map")
        await b.page.locator(".site-group").first.wait_for()
        assert len(await markers(b)) == CROWD + 2
        # Every site is in view, alone or in a group (once the cluster group's animation ends).
        await b.page.wait_for_function(
            "n => Array.from(document.querySelectorAll('.leaflet-marker-icon .site-marker'),"
            " m => m.classList.contains('site-group') ? Number(m.querySelector('.state-label')"
            ".textContent) : 1).reduce((a, b) => a + b, 0) === n", arg=CROWD + 2
        )  # fmt: skip
        groups = b.page.locator(".leaflet-marker-icon .site-group")
        assert 0 < await groups.count() < CROWD
        assert "Sites sans coordonnées, absents de la carte : 1" in await b.page.inner_text("main")
        await b.shot("map-clustered")
        assert await b.csp_violations() == []


async def test_a_marker_changes_state_from_the_event_stream(placed, api, vp_app):
    """A camera's state written as the monitor writes it (status and change event in one
    transaction) reaches the open map over /api/v1/events, which asks the API again: the
    site's marker turns from its old state to the new one without a reload."""
    from sqlalchemy import select

    from vp_monitor.db import session_factory, transaction, utcnow
    from vp_monitor.events import record as events
    from vp_monitor.monitor.models import CameraStatus
    from vp_monitor.registry.models import Camera

    def versailles_back_in_service() -> None:
        with transaction(session_factory(vp_app.engine)) as session:
            camera = session.scalar(select(Camera).where(Camera.code == "VE-001"))
            status = session.get(CameraStatus, camera.id)
            status.state, status.conditions = "ok", []
            events.record_event(session, events.CAMERA_STATE, at=utcnow(), camera_id=camera.id,
                                state="ok", previous_state="down", conditions=[], opened=[],
                                cleared=["no_video"], flapping=False,
                                in_maintenance=False)  # fmt: skip

    async with browser(api, "operator") as b:
        await b.open("/map")
        await b.page.locator("#live", has_text="en direct").wait_for()
        await vp_app.run_blocking(versailles_back_in_service)
        marker = b.page.locator(".leaflet-marker-icon", has_text="Château de Versailles")
        await marker.locator(".state-ok", has_text="en service").wait_for(timeout=4000)
        assert (await markers(b))["Château de Versailles"] == "ok"
        assert (await markers(b))["Mairie de Boulogne"] == "down"


async def test_a_tile_server_is_allowed_for_images_only_and_may_answer_nothing(placed):
    """With [web] map_tile_url set, its host is in img-src (nowhere else) and the map asks it
    for tiles; when it answers nothing the markers are still there."""
    from vp_monitor.config import Settings
    from vp_monitor.service.app import App

    settings = Settings(
        database_url=placed.settings.database_url,
        web={"map_tile_url": f"http://{CLOSED_PORT}/{{z}}/{{x}}/{{y}}.png",
             "map_tile_attribution": "<b>Tuiles</b> de test"},
    )  # fmt: skip
    app = App.from_settings(settings, actor="fixture")
    client = TestClient(TestServer(create_app(app, authenticate=header_principal)))
    await client.start_server()
    try:
        async with browser(client, "operator") as b:
            response = await b.open("/map")
            policy = response.headers["content-security-policy"]
            assert f"img-src 'self' data: blob: http://{CLOSED_PORT};" in policy
            assert policy.count(CLOSED_PORT) == 1
            await b.page.locator(".site-marker").first.wait_for()
            assert len(await markers(b)) == 2
            tiles = b.page.locator("img.leaflet-tile")
            assert await tiles.count() > 0  # asked for, never answered: left as they are
            assert await b.page.locator(".site-map .missing-image").count() == 0
            credit = await b.page.inner_text(".leaflet-control-attribution")
            assert "<b>Tuiles</b> de test" in credit  # shown as text, not as markup
            assert await b.csp_violations() == []
    finally:
        await client.close()
        app.close()


def _without(body: str, path: str) -> str:
    return body.replace(path, "PATH")


async def test_not_found_page_is_the_same_for_a_hidden_a_missing_and_an_unknown_page(api):
    """As a municipality, the other town's camera, a camera that does not exist and an
    address that is no page give the same HTML 404 page, byte for byte apart from the path
    asked for; an API address keeps its JSON 404."""
    async with browser(api, "boulogne") as b:
        bodies = {}
        for path in ("/cameras/VE-001", "/cameras/XX-999", "/nowhere/at-all"):
            response = await b.open(path)
            assert response.status == 404, path
            assert response.headers["content-type"].startswith("text/html")
            bodies[path] = _without(await response.text(), path)
        assert len(set(bodies.values())) == 1
        assert "Page introuvable" in bodies["/nowhere/at-all"]
        assert "bb.mairie" in bodies["/nowhere/at-all"]  # signed in: the same header
        await b.shot("not-found")
        assert await b.csp_violations() == []
    other = await api.get("/incidents/" + TWO_TOWNS["versailles"]["incident"],
                          headers={"X-Test-As": "boulogne"})  # fmt: skip
    missing = await api.get("/incidents/0d5c1e2a-0000-4000-8000-00000000ffff",
                            headers={"X-Test-As": "boulogne"})  # fmt: skip
    assert other.status == missing.status == 404
    assert _without(await other.text(), TWO_TOWNS["versailles"]["incident"]) == _without(
        await missing.text(), "0d5c1e2a-0000-4000-8000-00000000ffff"
    )
    api_missing = await api.get("/api/v1/nothing-here", headers={"X-Test-As": "boulogne"})
    assert api_missing.status == 404 and "error" in await api_missing.json()


@pytest.mark.parametrize(
    "name", ["nothing.js", "..%2F..%2Fpyproject.toml", "..%2Fstatic%2Fapp.css",
             "%2e%2e%2fleaflet.js", "leaflet%2Fdist%2Fleaflet.js", "images%2Flayers.png"],
)  # fmt: skip
async def test_asset_route_serves_only_names_of_its_table(api, name):
    """An unknown name or one with a path in it is 404, without reading the disk."""
    response = await api.get(f"/static/{name}")
    assert response.status == 404, name
    assert b"[project]" not in await response.read()


async def test_asset_route_serves_the_libraries_and_lets_the_browser_keep_them(api):
    """Leaflet, its cluster plug-in and Swagger UI come from node_modules by name, with an
    ETag: the same request with it is a 304 without a body."""
    for name, media_type in (("leaflet.js", "text/javascript"), ("leaflet.css", "text/css"),
                             ("leaflet.markercluster.js", "text/javascript"),
                             ("MarkerCluster.css", "text/css"), ("swagger-ui.css", "text/css"),
                             ("map.js", "text/javascript")):  # fmt: skip
        response = await api.get(f"/static/{name}")
        assert response.status == 200, name
        assert response.content_type == media_type
        etag = response.headers["ETag"]
        again = await api.get(f"/static/{name}", headers={"If-None-Match": etag})
        assert again.status == 304 and await again.read() == b""
    page = await api.get("/api/v1/docs")
    assert '<link rel="stylesheet" href="/static/swagger-ui.css">' in await page.text()
