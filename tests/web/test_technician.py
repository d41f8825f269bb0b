"""Technician routes against a simulated camera (ONVIF and RTSP on a loopback address): test
before saving and add from the test, test a registered camera, approve a reference, and the
pictures; a test's answer never holds the password."""

from __future__ import annotations

import pytest
from simulated import simulated_camera
from two_towns import CAMERA_PASSWORD

from vp_monitor.sim.encoder import GopCache

pytestmark = pytest.mark.timeout(120)
PASSWORD = "Sim-Pa55-Secret!"
BOULOGNE_SITE = {"site": "Mairie de Boulogne", "municipality": "92012"}


def as_(who: str) -> dict[str, str]:
    return {"X-Test-As": who}


@pytest.fixture(scope="module")
def gop_cache():
    """The simulated video, encoded once for every test of the module."""
    cache = GopCache()
    yield cache
    cache.close()


@pytest.fixture
async def sim(gop_cache):
    async with simulated_camera(PASSWORD, gop_cache) as camera:
        yield camera


def no_password(text: str, *secrets: str) -> None:
    for secret in (PASSWORD, CAMERA_PASSWORD, *secrets):
        assert secret not in text


async def jpeg_of(api, path: str, who: str) -> bytes:
    response = await api.get(path, headers=as_(who))
    assert response.status == 200, await response.text()
    assert response.content_type == "image/jpeg"
    data = await response.read()
    assert data[:2] == b"\xff\xd8"
    return data


async def test_test_over_onvif_then_add_the_camera_from_it(api, vp_app, sim):
    """A camera tested from its ONVIF address: identity, profiles, stream URLs without
    credentials, state ok, a frame; only the technician who ran it reads it. Added from the
    test with a code and site: registered with what ONVIF said, the password from the test
    (not sent again), the test's frame as day reference, audited with the technician's name;
    the test is then forgotten."""
    connection = {
        "onvif_host": f"{sim.host}:{sim.onvif_port}",
        "username": "admin",
        "password": PASSWORD,
    }
    assert (await api.post("/api/v1/tests", json=connection, headers=as_("operator"))).status == 403
    response = await api.post("/api/v1/tests", json=connection, headers=as_("technician"))
    assert response.status == 201, await response.text()
    text = await response.text()
    no_password(text)
    test = await response.json()
    assert test["state"] == "ok", text
    assert (test["state_label"], test["conditions"], test["camera"]) == ("en service", [], None)
    assert test["device"]["serial"] == sim.serial and test["device"]["model"] == "SIM-2000"
    assert test["profiles"] and test["profiles"][0]["codec"] == "h264"
    assert test["streams"]["main"] == f"rtsp://{sim.host}:{sim.rtsp_port}/main"
    assert {p["probe"] for p in test["probes"]} == {"onvif", "rtsp", "stream"}
    assert test["password_given"] is True and test["picture"]
    assert test["frame"] == f"/api/v1/tests/{test['id']}/frame"
    frame = await jpeg_of(api, test["frame"], "technician")
    again = await api.get(f"/api/v1/tests/{test['id']}", headers=as_("technician"))
    assert (await again.json())["id"] == test["id"]
    for path in (f"/api/v1/tests/{test['id']}", test["frame"]):  # another technician's
        assert (await api.get(path, headers=as_("admin"))).status == 404

    add = f"/api/v1/tests/{test['id']}/camera"
    refused = await api.post(
        add, json={"code": "BB 10", **BOULOGNE_SITE}, headers=as_("technician")
    )
    assert (refused.status, (await refused.json())["field"]) == (422, "code")
    sneaky = await api.post(
        add, json={"code": "BB-010", "password": "x", **BOULOGNE_SITE}, headers=as_("technician")
    )
    assert (sneaky.status, (await sneaky.json())["field"]) == (422, "password")
    added = await api.post(
        add, json={"code": "BB-010", "name": "Entrée", **BOULOGNE_SITE}, headers=as_("technician")
    )
    assert added.status == 201, await added.text()
    no_password(await added.text())
    camera = await added.json()
    assert (camera["code"], camera["serial"], camera["model"]) == ("BB-010", sim.serial, "SIM-2000")
    assert camera["rtsp_main"] == f"rtsp://{sim.host}:{sim.rtsp_port}/main"
    assert camera["has_password"] is True and camera["expected_codec"] == "h264"
    assert await jpeg_of(api, "/api/v1/cameras/BB-010/references/day", "boulogne") == frame
    with vp_app.registry() as registry:
        stored = registry.camera("BB-010")
        assert registry.password(stored) == PASSWORD
        history = [(e.actor, e.action) for e in registry.history("camera", "BB-010")]
    assert history == [("theo.tech", "create"), ("theo.tech", "reference")]
    assert (await api.get(f"/api/v1/tests/{test['id']}", headers=as_("technician"))).status == 404


async def test_a_refused_password_is_reported_and_adds_nothing(api, vp_app, sim):
    """An RTSP URL with a wrong password inside: the test says auth_failed (down) without
    the password; adding from it is refused and writes nothing; a body naming neither an
    ONVIF address nor an RTSP URL, or a URL that is not RTSP, is a 422 naming the field."""
    wrong = "Wr0ng-Guess-99"
    url = f"rtsp://admin:{wrong}@{sim.host}:{sim.rtsp_port}/main"
    response = await api.post("/api/v1/tests", json={"rtsp_main": url}, headers=as_("technician"))
    assert response.status == 201, await response.text()
    no_password(await response.text(), wrong)
    test = await response.json()
    assert test["state"] == "down" and "auth_failed" in [c["name"] for c in test["conditions"]]
    assert test["device"] is None and test["frame"] is None
    assert test["streams"]["main"] == f"rtsp://{sim.host}:{sim.rtsp_port}/main"
    added = await api.post(
        f"/api/v1/tests/{test['id']}/camera",
        json={"code": "BB-011", **BOULOGNE_SITE},
        headers=as_("technician"),
    )
    assert added.status == 422
    no_password(await added.text(), wrong)
    with vp_app.registry() as registry:
        assert [c.code for c in registry.cameras("92012")] == ["BB-001", "BB-002"]
    for body, field in (
        ({}, "onvif_host, rtsp_main"),
        ({"rtsp_main": "http://x/y"}, "rtsp_main"),
        ({"onvif_host": "h", "port": 1}, "port"),
    ):
        refused = await api.post("/api/v1/tests", json=body, headers=as_("technician"))
        assert (refused.status, (await refused.json())["field"]) == (422, field), body


async def test_registered_camera_test_reference_and_live_frame(api, vp_app, sim):
    """A registered camera: tested now (its result cannot be added again: 409), a night
    reference approved from a frame captured now (audited, served as JPEG), its picture now
    for its own town and not another's; a camera that gives no picture is a 409 for a
    reference or a picture, an unknown reference kind a 404."""
    from vp_monitor.registry.schemas import CameraInput

    url = f"rtsp://{sim.host}:{sim.rtsp_port}"
    with vp_app.registry(actor="fixture") as registry:
        registry.add_camera(
            CameraInput(
                code="BB-012",
                rtsp_main=f"{url}/main",
                rtsp_sub=f"{url}/sub",
                username="admin",
                password=PASSWORD,
                **BOULOGNE_SITE,
            )
        )
    assert (await api.post("/api/v1/cameras/BB-012/test", headers=as_("boulogne"))).status == 403
    missing = await api.post("/api/v1/cameras/XX-404/test", headers=as_("technician"))
    assert missing.status == 404
    response = await api.post("/api/v1/cameras/bb-012/test", headers=as_("technician"))
    assert response.status == 201, await response.text()
    no_password(await response.text())
    test = await response.json()
    assert (test["camera"], test["state"], test["password_given"]) == ("BB-012", "ok", False)
    await jpeg_of(api, test["frame"], "technician")
    again = await api.post(
        f"/api/v1/tests/{test['id']}/camera",
        json={"code": "BB-013", **BOULOGNE_SITE},
        headers=as_("technician"),
    )
    assert again.status == 409

    path = "/api/v1/cameras/BB-012/references"
    assert (await api.get(f"{path}/night", headers=as_("boulogne"))).status == 404  # none yet
    approved = await api.post(path, json={"kind": "night", "note": "IR"}, headers=as_("technician"))
    assert approved.status == 201, await approved.text()
    reference = await approved.json()
    assert (reference["kind"], reference["width"]) == ("night", sim.sub.width)
    assert reference["image"] == f"{path}/night"
    await jpeg_of(api, reference["image"], "boulogne")
    assert (await api.get(reference["image"], headers=as_("versailles"))).status == 404
    assert (await api.get(f"{path}/dusk", headers=as_("boulogne"))).status == 404
    bad_kind = await api.post(path, json={"kind": "dusk"}, headers=as_("technician"))
    assert (bad_kind.status, (await bad_kind.json())["field"]) == (422, "kind")
    with vp_app.registry() as registry:
        [entry] = [e for e in registry.history("camera", "BB-012") if e.action == "reference"]
        assert (entry.actor, entry.after["kind"], entry.after["note"]) == (
            "theo.tech",
            "night",
            "IR",
        )
    with vp_app.registry(actor="monitor") as registry:  # as the monitor stores a learned one
        picture = await jpeg_of(api, reference["image"], "boulogne")
        size = (sim.sub.width, sim.sub.height)
        registry.add_reference(registry.camera("BB-012"), picture, size, "day", provisional=True)
    detail = await api.get("/api/v1/cameras/BB-012/state", headers=as_("boulogne"))
    assert (await detail.json())["references"] == {"day": "provisional", "night": "approved"}

    await jpeg_of(api, "/api/v1/cameras/BB-012/frame", "boulogne")
    await jpeg_of(api, "/api/v1/cameras/BB-012/frame", "operator")  # the same, reused
    assert (await api.get("/api/v1/cameras/BB-012/frame", headers=as_("versailles"))).status == 404
    no_picture = await api.post(
        "/api/v1/cameras/BB-002/references", json={"kind": "day"}, headers=as_("technician")
    )
    assert no_picture.status == 409 and "référence inchangée" in (await no_picture.json())["error"]
    silent = await api.get("/api/v1/cameras/BB-002/frame", headers=as_("boulogne"))
    assert silent.status == 409
    assert "BB-002" in (await silent.json())["error"]


def test_kept_tests_are_bounded_in_number_and_age_and_private():
    """The kept tests: at most `size` (the oldest go first), none past its lifetime, and
    another account's test is unknown, as a missing one."""
    import time

    from vp_monitor.web.api.technician import CameraTest, CameraTests
    from vp_monitor.web.errors import ApiError

    tests = CameraTests(size=2, lifetime_s=60)
    for name in ("a", "b", "c"):
        tests.add(CameraTest(name, "theo", None, None, None, None))
    assert len(tests) == 2 and tests.get("c", "theo").id == "c"
    for test_id, owner in (("a", "theo"), ("b", "alice")):
        with pytest.raises(ApiError) as unknown:
            tests.get(test_id, owner)
        assert unknown.value.status == 404
    tests.get("b", "theo").expires = time.monotonic() - 1
    tests.add(CameraTest("d", "theo", None, None, None, None))
    assert len(tests) == 2 and [tests.get(i, "theo").id for i in ("c", "d")] == ["c", "d"]


async def test_a_camera_nobody_answers_for_is_reported_unreachable(api):
    """A test of an address where nothing listens answers at once: unreachable, down, no
    device, no frame, and the password it was given appears nowhere."""
    from ports import free_port

    host = "127.0.0.1"
    body = {"onvif_host": host, "onvif_port": free_port(host), "username": "admin",
            "password": PASSWORD}  # fmt: skip
    response = await api.post("/api/v1/tests", json=body, headers=as_("technician"))
    assert response.status == 201, await response.text()
    no_password(await response.text())
    test = await response.json()
    assert test["state"] == "down" and test["device"] is None and test["frame"] is None
    assert "unreachable" in [c["name"] for c in test["conditions"]]
    assert (await api.get(f"/api/v1/tests/{test['id']}/frame",
                          headers=as_("technician"))).status == 404  # fmt: skip
