"""The technicians' registry forms in a real browser (chromium driven by Playwright, as in
test_pages.py), signed in with real accounts: camera import (checked, then all or nothing),
camera edit and decommission, add by RTSP URL against a simulated camera; the accounts that
may not use them see none of their controls and are refused.

Screenshots go to /tmp/shots (or $VP_SHOTS).
"""

from __future__ import annotations

import pytest
from simulated import simulated_camera
from test_pages import browser, signed_in
from two_towns import CAMERA_PASSWORD

from vp_monitor.sim.encoder import GopCache

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
IMPORT_SECRET = "Imp-Secret-4411"  # a password in a refused row: never echoed
SIM_PASSWORD = "Sim-Pa55-Secret!"
SERIOUS = ("serious", "critical")  # axe-core impacts a page may not have
NEW_PASSWORD = "New-Cam-Secret-9"
HEADER = "code,name,site,municipality,rtsp_main,username,password,onvif_port\n"
GOOD = "BB-031,Préau,Gymnase Souriau,92012,rtsp://127.0.41.1/main,admin,{secret},\n"
BAD = [
    "BB 032,Cour,Gymnase Souriau,92012,rtsp://127.0.41.2/main,admin,{secret},\n",  # code
    "BB-033,Portail,Gymnase Souriau,92012,rtsp://127.0.41.3/main,admin,{secret},0\n",  # port
]
FIXED = [
    "BB-032,Cour,Gymnase Souriau,92012,rtsp://127.0.41.2/main,admin,{secret},\n",
    "BB-033,Portail,Gymnase Souriau,92012,rtsp://127.0.41.3/main,admin,{secret},554\n",
]


def csv_file(*rows: str) -> dict:
    text = HEADER + "".join(row.format(secret=IMPORT_SECRET) for row in rows)
    return {"name": "cameras.csv", "mimeType": "text/csv", "buffer": text.encode()}


def codes(vp_app, municipality: str = "92012") -> list[str]:
    with vp_app.registry() as registry:
        return [camera.code for camera in registry.cameras(municipality)]


@pytest.fixture
async def server(signed_api):
    """The web service with its real sign-in (the accounts of two_towns.PRINCIPALS)."""
    client, _tokens = signed_api
    return client


async def technician(api, as_: str = "theo.tech"):
    """A browser signed in as a technician, and the session's CSRF token."""
    cookie, csrf_token = await signed_in(api, as_)
    return browser(api, None, cookie=cookie), csrf_token


async def test_import_shows_bad_rows_saves_nothing_then_imports_the_fixed_file(server, vp_app):
    """A CSV with two bad rows: "check" (the dry run) and "import" (all or nothing) both show
    a table naming each row's line and column with a reason, without the row's password, and
    save nothing; the fixed file is checked, then imported: the created cameras are listed
    and appear on the wall."""
    before = codes(vp_app)
    opened, _ = await technician(server)
    async with opened as b:
        await b.open("/")
        await b.page.click("header nav a[href='/import']")
        await b.page.wait_for_url("**/import")
        assert "code,name,site,municipality" in await b.page.inner_text("main")
        await b.page.set_input_files("[name=file]", csv_file(GOOD, *BAD))
        for button in ("check", "import"):
            await b.page.click(f"#camera-import button[value={button}]")
            await b.page.locator("#import-problems").wait_for()
            rows = await b.page.locator("#import-problem-rows tr").all_inner_texts()
            assert [row.split("\t")[:2] for row in rows] == [["3", "code"], ["4", "onvif_port"]]
            assert all(len(row.split("\t")[2]) > 10 for row in rows)  # a reason in words
            assert "2 ligne(s) refusée(s) : rien n'a été enregistré" in await b.page.inner_text(
                "#import-problems-summary"
            )
            assert await b.page.is_hidden("#import-report")
            assert await b.page.inner_text("#import-status") == ""  # the table says it
            assert IMPORT_SECRET not in await b.page.content()
            assert codes(vp_app) == before
        await b.shot("import-refused")
        await b.page.set_input_files("[name=file]", csv_file(GOOD, *FIXED))
        await b.page.click("#camera-import button[value=check]")
        await b.page.locator("#import-report").wait_for()
        assert "Vérification" in await b.page.inner_text("#import-report-title")
        assert "3 à créer" in await b.page.inner_text("#import-summary")
        assert await b.page.is_hidden("#import-problems")
        assert codes(vp_app) == before
        await b.page.click("#camera-import button[value=import]")
        await b.page.locator("#import-report-title", has_text="Import enregistré").wait_for()
        assert "3 créée(s), 0 modifiée(s)" in await b.page.inner_text("#import-summary")
        created = b.page.locator("#import-created a")
        assert await created.all_inner_texts() == ["BB-031", "BB-032", "BB-033"]
        assert await created.first.get_attribute("href") == "/cameras/BB-031"
        assert codes(vp_app) == sorted(before + ["BB-031", "BB-032", "BB-033"])
        await b.shot("import-done")
        await b.open("/?municipality=92012")
        tiles = await b.tiles()
        assert {"BB-031", "BB-032", "BB-033"} <= set(tiles)
        assert await b.csp_violations() == []
    with vp_app.registry() as registry:
        assert registry.password(registry.camera("BB-032")) == IMPORT_SECRET
        assert [e.actor for e in registry.history("camera", "BB-032")] == ["theo.tech"]


async def test_import_over_the_limit_and_empty_are_said_in_words(server, vp_app, monkeypatch):
    """A file over the import limit gets the API's 413 message, pasted text is imported as
    a file is, and nothing at all is asked for before sending."""
    web = vp_app.settings.web.model_copy(update={"max_import_bytes": 1024})
    monkeypatch.setattr(vp_app, "settings", vp_app.settings.model_copy(update={"web": web}))
    opened, _ = await technician(server)
    async with opened as b:
        await b.open("/import")
        assert "1 ko au plus" in await b.page.inner_text("main")
        await b.page.click("#camera-import button[value=check]")
        assert "Choisissez un fichier" in await b.page.inner_text("#import-status")
        big = csv_file(GOOD, *[f"BB-1{n:02},C,Gymnase Souriau,92012,,,,\n" for n in range(60)])
        await b.page.set_input_files("[name=file]", big)
        await b.page.click("#camera-import button[value=check]")
        await b.page.locator("#import-status", has_text="1024 octets au plus").wait_for()
        await b.page.set_input_files("[name=file]", [])
        await b.page.fill("[name=text]", HEADER + GOOD.format(secret="x"))
        await b.page.click("#camera-import button[value=import]")
        await b.page.locator("#import-report-title", has_text="Import enregistré").wait_for()
    assert "BB-031" in codes(vp_app)


async def test_edit_a_camera_name_site_and_password(server, vp_app):
    """From the camera page a technician edits the camera: the stored password is nowhere in
    the page's source; a bad value is shown beside its field and saves nothing; the name, site
    and a new password are then saved (only the changed fields sent, with the CSRF token),
    shown on the camera page and in its audit trail under the technician's name; the site's
    address is changed from the same page."""
    from vp_monitor.registry.schemas import SiteInput

    with vp_app.registry(actor="fixture") as registry:
        site_id = registry.add_site(SiteInput(name="Gymnase Souriau", municipality="92012")).id
    opened, csrf_token = await technician(server)
    async with opened as b:
        sent = []
        b.page.on("request", lambda r: sent.append(r) if r.method == "PATCH" else None)
        await b.open("/cameras/BB-001")
        async with b.page.expect_navigation():
            await b.page.click("#edit-camera")
        assert b.page.url.endswith("/cameras/BB-001/edit")
        source = await (await b.open("/cameras/BB-001/edit")).text()
        assert CAMERA_PASSWORD not in source and "viewer:" not in source
        assert await b.page.input_value("[name=name]") == "Parvis mairie"
        assert await b.page.input_value("[name=password]") == ""
        await b.page.fill("[name=name]", "Parvis mairie nord")
        await b.page.fill("[name=onvif_port]", "70000")
        await b.page.click("#camera-edit button[type=submit]")
        error = b.page.locator('[data-error-for="onvif_port"]')
        await error.wait_for()
        assert "65535" in await error.inner_text()
        assert await b.page.get_attribute("[name=onvif_port]", "aria-invalid") == "true"
        assert await b.page.evaluate("document.activeElement.name") == "onvif_port"
        await b.shot("camera-edit-error")
        with vp_app.registry() as registry:
            assert registry.camera("BB-001").name == "Parvis mairie"
        await b.page.fill("[name=onvif_port]", "")
        await b.page.fill("[name=site]", "Gymnase Souriau")
        await b.page.fill("[name=password]", NEW_PASSWORD)
        async with b.page.expect_navigation():
            await b.page.click("#camera-edit button[type=submit]")
        assert b.page.url.endswith("/cameras/BB-001")
        assert sent[-1].post_data_json == {
            "name": "Parvis mairie nord",
            "site": "Gymnase Souriau",
            "password": NEW_PASSWORD,
        }
        assert sent[-1].headers["x-csrf-token"] == csrf_token
        assert "Parvis mairie nord" in await b.page.inner_text("h1")
        assert "Gymnase Souriau" in await b.page.inner_text("main")
        audit = await b.page.locator("table.audit tbody tr").first.inner_text()
        assert "theo.tech" in audit and "Parvis mairie → Parvis mairie nord" in audit
        assert "Mairie de Boulogne → Gymnase Souriau" in audit
        source = await b.page.content()
        assert NEW_PASSWORD not in source and CAMERA_PASSWORD not in source
        await b.shot("camera-edited")
        await b.open("/cameras/BB-001/edit")  # the site's address, on its own form
        assert "Gymnase Souriau" in await b.page.inner_text("#site-edit h2")
        await b.page.fill("[name=address]", "1 rue Paul Souriau")
        async with b.page.expect_navigation():
            await b.page.click("#site-edit button[type=submit]")
        assert sent[-1].url.endswith(f"/api/v1/sites/{site_id}")
        assert sent[-1].post_data_json == {"address": "1 rue Paul Souriau"}
        assert await b.csp_violations() == []
    with vp_app.registry() as registry:
        camera = registry.camera("BB-001")
        assert (camera.name, camera.site.name) == ("Parvis mairie nord", "Gymnase Souriau")
        assert camera.site.address == "1 rue Paul Souriau"
        assert registry.password(camera) == NEW_PASSWORD


async def test_decommission_asks_for_confirmation(server, vp_app):
    """Decommission needs its confirmation ticked; then the camera is retired, with the note,
    and its page says so."""
    opened, _ = await technician(server)
    async with opened as b:
        await b.open("/cameras/BB-002/edit")
        await b.page.fill("#camera-decommission [name=note]", "remplacée par BB-031")
        await b.page.click("#camera-decommission button[type=submit]")
        assert await b.page.evaluate(
            "document.querySelector('#camera-decommission [name=confirm]').validity.valueMissing"
        )
        assert b.page.url.endswith("/cameras/BB-002/edit")
        with vp_app.registry() as registry:
            assert registry.camera("BB-002").lifecycle != "decommissioned"
        await b.page.check("#camera-decommission [name=confirm]")
        async with b.page.expect_navigation():
            await b.page.click("#camera-decommission button[type=submit]")
        assert b.page.url.endswith("/cameras/BB-002")
        assert "retirée du service" in await b.page.inner_text("main")
        await b.open("/cameras/BB-002/edit")
        assert await b.page.locator("#camera-decommission").count() == 0
    with vp_app.registry() as registry:
        camera = registry.camera("BB-002")
        assert camera.lifecycle == "decommissioned" and "remplacée par BB-031" in camera.notes


@pytest.fixture(scope="module")
def gop_cache():
    """The simulated video, encoded once for the module."""
    cache = GopCache()
    yield cache
    cache.close()


async def test_add_a_camera_by_its_rtsp_url(server, vp_app, gop_cache):
    """The add-a-camera page with only an RTSP URL and credentials, against a simulated
    camera: the test shows the state and the frame received before the save form; saved, the
    camera's page shows it, its password stored and in no page."""
    async with simulated_camera(SIM_PASSWORD, gop_cache) as sim:
        opened, _ = await technician(server)
        async with opened as b:
            await b.open("/new-camera")
            url = f"rtsp://{sim.host}:{sim.rtsp_port}/main"
            await b.page.fill("[name=rtsp_main]", url)
            await b.page.fill("[name=username]", "admin")
            await b.page.fill("[name=password]", SIM_PASSWORD)
            await b.page.click("#camera-test button[type=submit]")
            await b.page.locator("#test-result").wait_for(timeout=30_000)
            assert await b.page.inner_text("#test-state") == "en service"
            await b.page.wait_for_function("document.getElementById('test-frame').naturalWidth > 0")
            assert await b.page.is_visible("#camera-save")
            await b.shot("new-camera-rtsp")
            await b.page.fill("[name=code]", "BB-040")
            await b.page.select_option("[name=municipality]", "92012")
            await b.page.fill("[name=site]", "Mairie de Boulogne")
            await b.page.click("#camera-save button[type=submit]")
            await b.page.wait_for_url("**/cameras/BB-040")
            text = await b.page.inner_text("main")
            assert url in text and "mot de passe enregistré" in text
            assert SIM_PASSWORD not in await b.page.content()
            assert await b.csp_violations() == []
    with vp_app.registry() as registry:
        camera = registry.camera("BB-040")
        assert (camera.rtsp_main, camera.username) == (url, "admin")
        assert registry.password(camera) == SIM_PASSWORD


@pytest.mark.parametrize("account", ["olga.op", "bb.mairie", "acme.tech"])
async def test_other_accounts_see_no_control_and_are_refused(server, account):
    """An operator, a municipality or a maintainer: no edit link on the camera page, no
    import link in the menu; the pages themselves are refused by the route table."""
    cookie, _ = await signed_in(server, account)
    async with browser(server, None, cookie=cookie) as b:
        await b.open("/cameras/BB-001")
        assert await b.page.locator("#edit-camera, a[href$='/edit']").count() == 0
        assert await b.page.locator("a[href='/import']").count() == 0
        for path in ("/import", "/cameras/BB-001/edit"):
            response = await b.open(path)
            assert response.status == 403, path
            assert await b.page.locator("#camera-import, #camera-edit").count() == 0


async def test_no_serious_accessibility_violation_on_the_forms(server):
    """axe-core in the import page (with its table of refused rows shown) and the edit page
    (with a field error shown): no serious or critical violation."""
    axe = pytest.importorskip("axe_playwright_python.async_playwright").Axe()
    found = {}
    opened, _ = await technician(server)
    async with opened as b:

        async def check(name: str) -> None:
            violations = (await axe.run(b.page)).response["violations"]
            found[name] = [(v["id"], v["nodes"][0]["target"]) for v in violations
                           if v["impact"] in SERIOUS]  # fmt: skip

        await b.open("/import")
        await b.shot("import")
        await check("import")
        await b.page.set_input_files("[name=file]", csv_file(*BAD))
        await b.page.click("#camera-import button[value=check]")
        await b.page.locator("#import-problems").wait_for()
        await check("import-refused")
        await b.open("/cameras/BB-001/edit")
        await b.shot("camera-edit")
        await check("edit")
        await b.page.fill("[name=onvif_port]", "0")
        await b.page.click("#camera-edit button[type=submit]")
        await b.page.locator('[data-error-for="onvif_port"]', has_text="1").wait_for()
        await check("edit-error")
    assert found == dict.fromkeys(("import", "import-refused", "edit", "edit-error"), [])
